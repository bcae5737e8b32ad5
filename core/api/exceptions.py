"""DRF's exception handler: every API error is ``{"detail": ...}`` with a fitting status, never a 500 page.

DRF answers its own exceptions (404, 405, 403, validation); an ``ActionableError`` answers its
``status`` with its ``body()`` (``{"detail"}``, and the job in the way for a ``JobBusy``), so views
raise and never map errors to answers one by one; a locked or full database answers 503 with
what to do (``core.errors``); anything else is a logged 500 with a JSON body.
"""

from __future__ import annotations

import logging
from typing import Any

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import ActionableError, service_fault

logger = logging.getLogger(__name__)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    response = drf_exception_handler(exc, context)
    if response is not None:
        return response
    request = context.get("request")
    if isinstance(exc, ActionableError) and exc.status is not None:
        if exc.status >= 500:
            logger.warning("API answered %s: %s", exc.status, exc.message)
        return Response(exc.body(request), status=exc.status)
    message = service_fault(exc)
    if message is not None:
        logger.warning("API answered 503: %s (%s)", message, exc)
        return Response({"detail": message}, status=503)
    logger.exception("API error on %s %s", getattr(request, "method", ""), getattr(request, "path", ""))
    return Response({"detail": "Internal error; it was logged on the server. Try again."}, status=500)
