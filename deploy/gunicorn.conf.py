"""gunicorn's settings for the web service, shared by the image (deploy/entrypoint.sh) and
``make run`` (scripts/run.sh); the bind address, workers and threads stay on their command lines.

The access log is gunicorn's default format without ``%(u)s``, the user name of an HTTP Basic
``Authorization`` header: a client that puts a secret there (a token as the user name) left it in
the log (issue 26). No other field of the format comes from a header that carries credentials.
"""

import gc
import os
import sys
from typing import Any

accesslog = "-"
access_log_format = '%(h)s %(l)s - %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'

# On SQLite (no DATABASE_URL: the NAS default) nothing needs psycopg, yet Django REST framework
# imports django.contrib.postgres, and so psycopg and libpq, whenever they are installed: about
# 6 MB of every process. Marked absent here, in the master, before the app is loaded in the
# worker it forks (issue 28; README, "Memory"). The Celery worker does the same
# (registry_admin/celery.py).
if not (os.environ.get("DATABASE_URL") or os.environ.get("DATABASE_URL_FILE")):
    sys.modules.setdefault("psycopg", None)  # type: ignore[arg-type]


def post_worker_init(worker: Any) -> None:
    """The application is loaded: its modules, settings and URL patterns live as long as the
    process, so they leave the garbage collector's generations (``gc.freeze``) and a full
    collection, which holds the GIL, no longer walks them while slow pages allocate. From now on
    the worker's event loop takes the collections, small and often, instead of whichever page
    thread allocates (``registry_admin.collector``; issue 26)."""
    gc.collect()
    gc.freeze()
    from registry_admin.collector import LoopCollector

    LoopCollector(worker.loop).start()
