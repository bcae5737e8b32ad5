"""The names maintenance's Celery tasks are registered under (``maintenance.tasks``).

The web side sends tasks by these names (``core.worker.send``, ``core.worker.ask_worker``)
instead of importing ``maintenance.tasks``, which would load the run side and the Docker
engine client into the web process. ``test_task_names`` checks each name against the
tasks a worker registers; beat entries in the database store the same names.
"""

RUN_GC = "maintenance.tasks.run_gc"
SCHEDULED_GC = "maintenance.tasks.scheduled_gc"
COLLECT_STATS = "maintenance.tasks.collect_stats"
COLLECT_STATS_ON_SCHEDULE = "maintenance.tasks.collect_stats_on_schedule"
CHECK_ENGINE = "maintenance.tasks.check_engine"
REFRESH_CONTAINER = "maintenance.tasks.refresh_container"
PAUSE_REGISTRY = "maintenance.tasks.pause_registry"
UNPAUSE_REGISTRY = "maintenance.tasks.unpause_registry"
RESTART_REGISTRY = "maintenance.tasks.restart_registry"
RESUME_AFTER_PAUSE = "maintenance.tasks.resume_after_pause"
UPDATE_REGISTRY = "maintenance.tasks.update_registry"
VERIFY_REGISTRY = "maintenance.tasks.verify_registry"
