"""DRF's exception handler: every API error is ``{"detail": ...}`` with a fitting status, never a 500 page.

DRF answers its own exceptions (404, 405, 403, validation); a locked or full database and
Redis refusing a task answer 503 with what to do (``core.errors``); anything else is a logged
500 with a JSON body.
"""

from __future__ import annotations

import logging
from typing import Any

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import service_fault

logger = logging.getLogger(__name__)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    response = drf_exception_handler(exc, context)
    if response is not None:
        return response
    message = service_fault(exc)
    if message is not None:
        logger.warning("API answered 503: %s (%s)", message, exc)
        return Response({"detail": message}, status=503)
    request = context.get("request")
    logger.exception("API error on %s %s", getattr(request, "method", ""), getattr(request, "path", ""))
    return Response({"detail": "Internal error; it was logged on the server. Try again."}, status=500)
