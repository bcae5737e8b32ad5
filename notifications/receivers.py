"""Hearing the announcements (``core.notable``) in any process, web or worker, and handing them to a
worker: only the Celery task is sent here, after the announcer's transaction commits, so a
delivery never slows down or fails the action that caused it."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.db import DatabaseError, transaction

from core import notable, worker
from notifications import dispatch, task_names

logger = logging.getLogger(__name__)


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
    transaction.on_commit(lambda: _send(kind, plain), robust=True)


def _send(kind: str, facts: dict[str, Any]) -> None:
    try:
        worker.send(task_names.DISPATCH, kind, facts, retry=False)
    except worker.QueueUnavailable as e:
        logger.warning("Not telling of %s: %s", kind, e.message)
