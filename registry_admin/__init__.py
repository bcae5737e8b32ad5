from registry_admin.celery import app as celery_app

# Kept equal to pyproject.toml's version; the registry client sends it as registry-admin/<version>.
__version__ = "0.1.0"

__all__ = ("__version__", "celery_app")
