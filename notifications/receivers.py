"""Hearing the announcements (``core.notable``) in any process, web or worker, and handing them to a
worker, so that a delivery never slows down or fails the action that caused it.

The listener only checks that some rule may want the announcement (one small query) and, once
the announcer's transaction commits, puts it on this process's outbox. One daemon thread per
process sends the outbox's Celery tasks: a broker that is down or does not answer costs that
thread its timeout, never the request or the job that announced. An announcement still in the
outbox when the process ends is lost (logged when the broker refuses it).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from typing import Any

from django.db import DatabaseError, transaction

from core import notable, worker
from notifications import dispatch, task_names

logger = logging.getLogger(__name__)

_outbox: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue(maxsize=10_000)
_sender: threading.Thread | None = None
_sender_lock = threading.Lock()


def connect() -> None:
    notable.happened.connect(on_announcement, dispatch_uid="notifications")


def on_announcement(sender: Any, kind: str, facts: dict[str, Any], **kwargs: Any) -> None:
    try:
        if kind not in dispatch.wanted_kinds():
            return
    except DatabaseError as e:
        logger.warning("Not telling of %s: the rules could not be read (%s)", kind, e)
        return
    plain = json.loads(json.dumps(facts, default=str))  # what a task's JSON message can carry
    transaction.on_commit(lambda: post(kind, plain), robust=True)


def post(kind: str, facts: dict[str, Any]) -> None:
    """Queue the announcement for this process's sender thread (started on first use)."""
    global _sender
    with _sender_lock:
        if _sender is None or not _sender.is_alive():
            _sender = threading.Thread(target=_send_forever, name="notifications-outbox", daemon=True)
            _sender.start()
    try:
        _outbox.put_nowait((kind, facts))
    except queue.Full:
        logger.warning("Not telling of %s: 10,000 announcements wait for the broker already", kind)


def _send_forever() -> None:
    while True:
        kind, facts = _outbox.get()
        try:
            worker.send(task_names.DISPATCH, kind, facts, retry=False)
        except worker.QueueUnavailable as e:
            logger.warning("Not telling of %s: %s", kind, e.message)
        except Exception:
            logger.exception("Not telling of %s", kind)
