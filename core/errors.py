"""Failures of the services the dashboard depends on, as answers a user can act on.

``ServiceUnavailable`` carries a message naming the setting to check; ``core.middleware``
and ``core.api.exceptions`` turn it (and a locked or full database) into a 503 page or
``{"detail": ...}``, never a traceback.
"""

from __future__ import annotations

from typing import Any

from django.db import OperationalError
from django.http import HttpRequest


class ActionableError(Exception):
    """An error whose ``message`` says what went wrong and what to do, shown to the user as it is.

    ``status`` is the HTTP status the API answers with (``core.api.exceptions`` maps an
    ActionableError that has one to ``body()`` with it); a subclass declares its own, a raise may
    override it. None (a worker's error that reaches a view unforeseen) stays a logged 500 that
    shows no message.
    """

    status: int | None = None

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status

    def body(self, request: HttpRequest | None = None) -> dict[str, Any]:
        """The API's answer: ``{"detail": message}``; subclasses add what a client decides on."""
        return {"detail": self.message}


class InvalidFields(ActionableError, ValueError):
    """Input a form or the API refuses, field by field: ``errors`` maps each field to its message (400).

    The API answers ``errors`` itself, as DRF answers a serializer's validation errors.
    """

    status = 400

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))
        self.errors = errors

    def body(self, request: HttpRequest | None = None) -> dict[str, Any]:
        return dict(self.errors)


class ServiceUnavailable(ActionableError):
    """Something the dashboard needs does not answer; ``message`` says what to do."""

    status = 503


# SQLite's answers when another process holds the write lock past the busy timeout, or the
# disk (the NAS volume) is full; PostgreSQL's for a full disk.
_DATABASE_FAULTS = {
    "database is locked": (
        "The database is busy (another process holds its write lock): nothing was changed, try again "
        "in a moment. If it lasts, check that only one dashboard uses DATA_DIR's db.sqlite3."
    ),
    "database table is locked": (
        "The database is busy (another process holds its write lock): nothing was changed, try again in a moment."
    ),
    "database or disk is full": (
        "The database cannot grow: the disk holding DATA_DIR (or DATABASE_URL's server) is full. "
        "Nothing was changed; free space there, then try again."
    ),
    "no space left on device": (
        "The disk holding the database is full. Nothing was changed; free space there, then try again."
    ),
    "disk i/o error": (
        "The database could not be read or written (disk I/O error): check the disk holding DATA_DIR. "
        "Nothing was changed."
    ),
    "could not connect to server": "The database server does not answer: check DATABASE_URL and that it runs.",
    "connection refused": "The database server does not answer: check DATABASE_URL and that it runs.",
}


def database_fault(error: BaseException) -> str | None:
    """The user's message for a database that is locked, full or away; None for other errors."""
    if not isinstance(error, OperationalError):
        return None
    text = str(error).lower()
    for needle, message in _DATABASE_FAULTS.items():
        if needle in text:
            return message
    return None


def service_fault(error: BaseException) -> str | None:
    """The message for any fault answered with 503, or None."""
    if isinstance(error, ServiceUnavailable):
        return error.message
    return database_fault(error)
