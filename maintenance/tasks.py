from celery import shared_task

from maintenance import services


@shared_task(ignore_result=True, soft_time_limit=60, time_limit=90)
def check_engine() -> None:
    """Record whether the Docker engine and the registry container answer (every minute, and on demand)."""
    services.record_engine_health()


# === Garbage collection (issue 5) ======================================================


# === Statistics (issue 6) ==============================================================
