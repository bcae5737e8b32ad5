"""The names the inventory's Celery tasks are registered under (``inventory.tasks``).

They keep the names they had when maintenance defined them: beat's entries in the database
(django-celery-beat) and in CELERY_BEAT_SCHEDULE store these names. The web side sends them by
name (``core.worker.send``) without importing the tasks.
"""

RUN_SYNC = "maintenance.tasks.run_sync"
SCHEDULED_SYNC = "maintenance.tasks.scheduled_sync"
PRUNE_EVENTS = "maintenance.tasks.prune_events"
APPLY_EVENTS = "inventory.tasks.apply_events"
WATCH_EVENTS = "inventory.tasks.watch_events"
RUN_SCRUB = "inventory.tasks.run_scrub"
SCHEDULED_SCRUB = "inventory.tasks.scheduled_scrub"
