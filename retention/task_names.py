"""The names retention's Celery tasks are registered under (``retention.tasks``): the web side
sends them by name and never imports the run side."""

RUN_RETENTION = "retention.tasks.run_retention"
SCHEDULED_RETENTION = "retention.tasks.scheduled_retention"
