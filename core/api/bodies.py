"""A body sent to an API operation that takes none is a 400, not quietly ignored (issue 26).

``POST /api/v1/registry/restart/ {"dry_run": true}`` restarted the registry for real: the view
never reads a body, so nothing refused the field. Whether an operation takes a body is what its
OpenAPI description says (drf-spectacular reads the view the same way the schema is made), so
the description and the refusal cannot disagree; bodies that are taken are validated by their
StrictSerializer. DELETE never takes one. An empty body, ``{}`` and ``null`` are no body.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.settings import spectacular_settings

from core.api import parsers

WRITES = ("POST", "PUT", "PATCH", "DELETE")
_EMPTY = {b"", b"{}", b"null"}
_takes_body: dict[tuple[Callable[..., Any], str], bool] = {}


def takes_body(view_func: Callable[..., Any], method: str, path: str) -> bool:
    """Whether the operation's description has a request body (cached per view and method); True
    for what is not ours to judge: a view that is not DRF's, a method the operation lacks (405)."""
    view_class = getattr(view_func, "cls", None)
    if view_class is None:
        return True
    actions = getattr(view_func, "actions", None)  # a viewset's route: method -> action
    handler = actions.get(method.lower()) if actions is not None else method.lower()
    if handler is None or not hasattr(view_class, handler):
        return True  # DRF answers 405
    if method == "DELETE":
        return False
    key = (view_func, method)
    if key not in _takes_body:
        generator = SchemaGenerator()  # holds the view's schema (a weak proxy on the view) while asked
        view = generator.create_view(view_func, method)
        view.request = spectacular_settings.GET_MOCK_REQUEST(method, path, view, None)
        view.schema.method = method
        view.schema.path = path
        _takes_body[key] = view.schema.get_request_serializer() is not None
        del view, generator
    return _takes_body[key]


def _given(request: HttpRequest) -> str | None:
    """What the body holds, for the message; None when it holds nothing (empty, {}, null, or a form
    without fields, which is what a bare ``POST`` of some clients sends)."""
    raw = request.body.strip()
    if raw in _EMPTY:
        return None
    if request.content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        try:
            names = sorted({*request.POST, *request.FILES})
        except MultiPartParserError:
            return "a body"
        return "the field(s) " + ", ".join(names)[:200] if names else None
    return _fields(raw)


def _fields(raw: bytes) -> str:
    try:
        document = parsers.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return "a body"
    if isinstance(document, dict):
        return "the field(s) " + ", ".join(sorted(str(name) for name in document))[:200]
    return "a body"


class RefuseUnexpectedBodies:
    """Middleware: a write under /api/ with a body where its operation takes none is a JSON 400."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        if request.method not in WRITES or not request.path.startswith("/api/"):
            return None
        try:
            given = _given(request)
        except RequestDataTooBig:
            return None  # DRF answers 413 its own way
        if given is None or takes_body(view_func, request.method, request.path):
            return None
        return JsonResponse(
            {"detail": f"{request.method} {request.path} takes no body; it was given {given}. Send none."},
            status=400,
        )
