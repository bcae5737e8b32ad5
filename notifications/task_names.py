"""The names notifications' Celery tasks are registered under (``notifications.tasks``): the web
side sends them by name (``core.worker.send``) and never imports the tasks."""

DISPATCH = "notifications.tasks.dispatch_announcement"
DELIVER = "notifications.tasks.deliver"
FLUSH_DIGESTS = "notifications.tasks.flush_digests"
WATCH_REGISTRY = "notifications.tasks.watch_registry"
PRUNE_DELIVERIES = "notifications.tasks.prune_deliveries"
