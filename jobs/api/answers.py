"""What every API view that queues a job answers: 202 with a reference to the job.

A refusal is raised, not answered here: ``JobBusy`` (409 with the job in the way) and
``JobsUnavailable`` (503) carry their status, and ``core.api.exceptions`` answers them.
"""

from __future__ import annotations

from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from jobs import services
from jobs.models import Job


def queued(request: Request, job: Job) -> Response:
    return Response(services.job_reference(request, job), status=status.HTTP_202_ACCEPTED)
