from django.apps import AppConfig


class RetentionConfig(AppConfig):
    name = "retention"
    verbose_name = "Retention"

    def ready(self) -> None:
        from jobs import describe
        from jobs.models import Job
        from retention import services

        describe.register(Job.Kind.RETENTION, outcome=services.outcome, params=services.params_text)
