"""Thin Celery tasks of the access app (worker side)."""

from __future__ import annotations

from celery import shared_task

from access import switch


# Like an update: no retry and no late ack (it recreates the registry); the GC watchdog puts the
# saved container back when a worker dies midway.
@shared_task(ignore_result=True, acks_late=False, max_retries=0, soft_time_limit=600, time_limit=900)
def switch_registry_login(job_id: int) -> None:
    """Require login for the registry, or stop requiring it (the Access page)."""
    switch.run(job_id)
