from django.apps import AppConfig


class MaintenanceConfig(AppConfig):
    name = "maintenance"
    verbose_name = "Maintenance"

    def ready(self) -> None:
        from core import health, reachability
        from jobs import describe, services
        from jobs.models import Job
        from maintenance import gc_requests, registry_jobs
        from maintenance.health import check_docker, engine_unreachable_reason

        health.register("docker", check_docker)
        reachability.register(reachability.ENGINE, engine_unreachable_reason)
        # A snapshot pause stops updates, verifications and retention runs (jobs.services.EXCLUDES).
        services.register_condition(services.SNAPSHOT_PAUSE, registry_jobs.snapshot_paused)
        describe.register(
            Job.Kind.GC,
            outcome=gc_requests.outcome,
            why_nothing=gc_requests.why_nothing,
            params=gc_requests.params_text,
        )
        describe.register(Job.Kind.UPDATE, outcome=registry_jobs.outcome)
        describe.register(Job.Kind.VERIFY, outcome=registry_jobs.outcome)
