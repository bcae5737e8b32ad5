"""The access app's Celery task names: the web sends tasks by name and never imports the worker side."""

SWITCH_REGISTRY_LOGIN = "access.tasks.switch_registry_login"
