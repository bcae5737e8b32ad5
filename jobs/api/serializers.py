"""The jobs API's serializers: a job, a reference to one (what a 202 or a 409 carries), the list's filters."""

from typing import Any

from rest_framework import serializers

from jobs.models import Job
from jobs.services import JobReference

STATUS_HELP = (
    "queued, running; then succeeded (it did what it was for), failed (it could not: see error), or "
    'warning: it ran but found problems or did only part of its work ("problems found": a verification '
    "that found something missing, a retention run whose deletes partly failed); error says which."
)


class JobSerializer(serializers.ModelSerializer[Job]):
    user = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=Job.Status.choices, read_only=True, help_text=STATUS_HELP)
    requested_via = serializers.ChoiceField(
        choices=Job.RequestedVia.choices,
        read_only=True,
        help_text="who asked for the job: a user (session), one of their API tokens (token), the schedule, "
        "or the dashboard itself (system); the audit log credits the job's work to them",
    )
    token_name = serializers.CharField(read_only=True, help_text="the API token's name when requested_via is token")
    asked_by = serializers.CharField(
        read_only=True, help_text='who asked, in words: "acc-admin", "acc-admin\'s API token ci", "the schedule"'
    )

    class Meta:
        model = Job
        fields = [
            "id",
            "url",
            "kind",
            "status",
            "params",
            "output",
            "result",
            "error",
            "created_at",
            "started_at",
            "finished_at",
            "user",
            "requested_via",
            "token_name",
            "asked_by",
        ]

    def get_user(self, job: Job) -> str | None:
        return job.user.get_username() if job.user else None

    def get_url(self, job: Job) -> str:
        request = self.context.get("request")
        path = f"/api/v1/jobs/{job.pk}/"
        return request.build_absolute_uri(path) if request else path


class JobQuerySerializer(serializers.Serializer[None]):
    kind = serializers.ChoiceField(required=False, choices=Job.Kind.values)
    status = serializers.ChoiceField(required=False, choices=Job.Status.values)
    requested_via = serializers.ChoiceField(required=False, choices=Job.RequestedVia.values)


class JobReferenceSerializer(serializers.Serializer[JobReference]):
    id = serializers.IntegerField()
    url = serializers.URLField(help_text="the job in the API")
    page = serializers.URLField(help_text="the job's page in the dashboard")
    status = serializers.ChoiceField(choices=Job.Status.choices, help_text=STATUS_HELP)


class JobBusySerializer(serializers.Serializer[dict[str, Any]]):
    """A 409: what is in the way, and the job, when it is one."""

    detail = serializers.CharField()
    job = JobReferenceSerializer(required=False, help_text="the job that is queued or running")
