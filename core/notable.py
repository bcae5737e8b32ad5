"""Things worth telling someone: announced here by the apps that see them happen, heard by whoever listens.

The apps that know a tag was pushed (``inventory.events``), a job ended (``jobs.runner``),
a login was locked (``core.logins``) or a token made (``core.tokens``) call ``announce`` and
go on. ``notifications`` listens (``notifications.receivers``, connected from its
``AppConfig.ready``) and sends what its rules ask for, on a worker. The signal lives in
``core`` because the emitters sit below ``notifications``: they must not import it, so the
direction of imports stays views -> services -> clients, with ``core`` at the bottom.

``announce`` never raises and never waits on anything slow: a listener that fails is logged
and the action that announced goes on as if nobody listened.
"""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import Signal

logger = logging.getLogger(__name__)

# What can be announced, and the facts each kind carries (JSON values: str, int, float, bool,
# None, lists and dicts of those). ``path`` is the dashboard page to link to, when there is one.
PUSH = "push"  # repository, tag, digest, actor
DELETE = "delete"  # repository, tag or digest, actor
JOB_FINISHED = "job-finished"  # job, job_kind, job_kind_label, status, error, result, path
REGISTRY_DOWN = "registry-down"  # url, detail, since
REGISTRY_UP = "registry-up"  # url, down_seconds, since
DISK_USAGE = "disk-usage"  # percent, used_bytes, total_bytes, path
EVENTS_GAP = "events-gap"  # detail, path
DAMAGE_FOUND = "damage-found"  # source, detail, count, path
LOGIN_LOCKOUT = "login-lockout"  # username, ip, minutes
TOKEN_CREATED = "token-created"  # noqa: S105 - a kind, not a secret; facts: name, owner, role, by
ROBOT_CREATED = "robot-created"  # name, by

KINDS = (
    PUSH,
    DELETE,
    JOB_FINISHED,
    REGISTRY_DOWN,
    REGISTRY_UP,
    DISK_USAGE,
    EVENTS_GAP,
    DAMAGE_FOUND,
    LOGIN_LOCKOUT,
    TOKEN_CREATED,
    ROBOT_CREATED,
)

#: Sent with ``kind`` (one of KINDS) and ``facts`` (a dict of JSON values).
happened = Signal()


def announce(kind: str, **facts: Any) -> None:
    """Tell the listeners that ``kind`` happened; never raises (a failing listener is logged)."""
    if kind not in KINDS:
        logger.error("announce(%r): not one of core.notable.KINDS; nobody is told", kind)
        return
    try:
        answers = happened.send_robust(sender=kind, kind=kind, facts=facts)
    except Exception:  # send_robust catches the listeners' errors; this is for anything else
        logger.exception("announcing %s failed; the action goes on", kind)
        return
    for _receiver, answer in answers:
        if isinstance(answer, Exception):
            logger.warning("a listener of %s failed (%s: %s); the action goes on", kind, type(answer).__name__, answer)
