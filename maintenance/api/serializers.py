from rest_framework import serializers

from maintenance.models import Job


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
