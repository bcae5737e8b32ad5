"""The names the inventory's Celery tasks are registered under (``inventory.tasks``).

The web side sends them by name (``core.worker.send``) without importing the tasks.
"""

APPLY_EVENTS = "inventory.tasks.apply_events"
WATCH_EVENTS = "inventory.tasks.watch_events"
# Queues a sync job unless one is queued or running (maintenance's, until the sync job moves here).
QUEUE_SYNC = "maintenance.tasks.scheduled_sync"
