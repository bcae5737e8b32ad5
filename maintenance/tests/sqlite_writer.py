"""One of the dashboard's processes writing to a SQLite file, for test_database.py.

``python -m maintenance.tests.sqlite_writer ROLE COUNT [--no-busy-timeout]`` with ``DATABASE_URL``
pointing at the file: ``web`` writes audit entries, ``worker`` appends to a job's output as a
GC does, ``beat`` updates a periodic task's last run, ``holder`` keeps a write transaction
open for a second and a half (a long GC status update). Prints ``ok N`` or ``locked: ...`` and
exits 0 / 1. ``--no-busy-timeout`` drops the project's SQLite options (timeout 0, deferred
transactions, no WAL): the control that shows the test would see "database is locked".
"""

from __future__ import annotations

import os
import sys
import time


def main(role: str, count: int, no_busy_timeout: bool) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_admin.settings")
    from django.conf import settings

    if no_busy_timeout:
        settings.DATABASES["default"]["OPTIONS"] = {"timeout": 0}
    import django

    django.setup()
    from django.db import OperationalError, transaction
    from django.utils import timezone
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    from core.models import AuditEntry
    from jobs.models import Job

    done = 0
    try:
        if role == "web":
            for i in range(count):
                AuditEntry.objects.create(
                    action="delete-tag", repository=f"load/{os.getpid()}", tag=str(i), outcome="succeeded"
                )
                AuditEntry.objects.filter(repository=f"load/{os.getpid()}").count()
                done += 1
        elif role == "worker":
            job = Job.objects.create(kind=Job.Kind.GC, params={})
            for i in range(count):
                with transaction.atomic():
                    current = Job.objects.select_for_update().get(pk=job.pk)
                    Job.objects.filter(pk=job.pk).update(output=current.output + f"line {i}\n")
                done += 1
        elif role == "beat":
            every, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
            task, _ = PeriodicTask.objects.get_or_create(
                name=f"load-{os.getpid()}", defaults={"task": "maintenance.tasks.collect_stats", "interval": every}
            )
            for _ in range(count):
                PeriodicTask.objects.filter(pk=task.pk).update(last_run_at=timezone.now(), total_run_count=done + 1)
                done += 1
        elif role == "holder":
            for _ in range(count):
                with transaction.atomic():
                    AuditEntry.objects.create(action="gc", outcome="succeeded", detail="holding the write lock")
                    time.sleep(1.5)
                done += 1
        else:
            print(f"unknown role {role}")
            return 2
    except OperationalError as e:
        print(f"locked after {done}: {e}" if "locked" in str(e) else f"error after {done}: {e}")
        return 1
    print(f"ok {done}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]), "--no-busy-timeout" in sys.argv[3:]))
