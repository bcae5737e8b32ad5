"""The jobs API's serializers: a job, a reference to one (what a 202 or a 409 carries), the list's filters."""

from rest_framework import serializers

from jobs.models import Job


class JobSerializer(serializers.ModelSerializer):
    user = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

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
        ]

    def get_user(self, job: Job) -> str | None:
        return job.user.get_username() if job.user else None

    def get_url(self, job: Job) -> str:
        request = self.context.get("request")
        path = f"/api/v1/jobs/{job.pk}/"
        return request.build_absolute_uri(path) if request else path


class JobQuerySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(required=False, choices=Job.Kind.values)
    status = serializers.ChoiceField(required=False, choices=Job.Status.values)


class JobReferenceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.URLField(help_text="the job in the API")
    page = serializers.URLField(help_text="the job's page in the dashboard")
    status = serializers.CharField()


class JobBusySerializer(serializers.Serializer):
    """A 409: what is in the way, and the job, when it is one."""

    detail = serializers.CharField()
    job = JobReferenceSerializer(required=False, help_text="the job that is queued or running")
