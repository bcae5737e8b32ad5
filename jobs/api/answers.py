"""What every API view that queues a job answers: 202 with a reference to the job, 409 with the
job in the way (``JobBusy``), 503 when Redis does not take jobs."""

from __future__ import annotations

from typing import Any

from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from jobs import services
from jobs.models import Job


def job_reference(request: Request, job: Job) -> dict[str, Any]:
    return {
        "id": job.pk,
        "url": request.build_absolute_uri(f"/api/v1/jobs/{job.pk}/"),
        "page": request.build_absolute_uri(job.get_absolute_url()),
        "status": job.status,
    }


def queued(request: Request, job: Job) -> Response:
    return Response(job_reference(request, job), status=status.HTTP_202_ACCEPTED)


def busy(request: Request, error: services.JobBusy, detail: str | None = None) -> Response:
    """409 ``{"detail", "job"}``: what is in the way (``detail`` replaces its message) and the job."""
    body: dict[str, Any] = {"detail": detail if detail is not None else error.message}
    if error.job is not None:
        body["job"] = job_reference(request, error.job)
    return Response(body, status=status.HTTP_409_CONFLICT)


def refused(request: Request, error: services.JobRequestError, status_code: int | None = None) -> Response:
    """``{"detail"}`` with the error's status (503 when Redis does not answer, naming REDIS_URL), or
    ``status_code``; a JobBusy carries the job in the way."""
    if isinstance(error, services.JobBusy):
        return busy(request, error)
    code = error.status if status_code is None or isinstance(error, services.JobsUnavailable) else status_code
    return Response({"detail": error.message}, status=code)
