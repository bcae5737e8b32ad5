"""The web's ASGI application (registry_admin/asgi.py): ``/-/alive`` answered on the event loop as
Django answers it, without a thread of the pool, and every other page through Django as before."""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest
from django.core.wsgi import get_wsgi_application

from core.tests.loops import run_coroutine
from registry_admin import asgi


def get(app: Any, path: str, headers: dict[str, str] | None = None, method: str = "GET") -> tuple[int, dict, bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver")] + [(k.encode(), v.encode()) for k, v in (headers or {}).items()],
        "client": ("10.1.2.3", 4242),
        "server": ("testserver", 80),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    run_coroutine(app(scope, receive, send))
    start = sent[0]
    return (
        start["status"],
        {bytes(k).decode().lower(): bytes(v).decode() for k, v in start["headers"]},
        b"".join(m.get("body", b"") for m in sent[1:]),
    )


class Counting:
    """Django's WSGI application, counting the requests that reach it."""

    def __init__(self) -> None:
        self.django = get_wsgi_application()
        self.paths: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        self.paths.append(environ["PATH_INFO"])
        return self.django(environ, start_response)


@pytest.mark.django_db(transaction=True)
def test_alive_is_answered_on_the_loop_as_django_answered_it() -> None:
    django = Counting()
    app = asgi.build(2, django)
    first = get(app, "/-/alive")
    assert first[0] == 200 and first[2] == b"ok"
    assert django.paths == ["/-/alive"]
    again = [get(app, "/-/alive") for _ in range(3)]
    assert django.paths == ["/-/alive"]  # not Django's handler, nor a thread of its pool
    for status, headers, body in again:
        assert (status, body) == (200, b"ok")
        assert {k: v for k, v in headers.items() if k != "expires"} == {
            k: v for k, v in first[1].items() if k != "expires"
        }
        assert headers["cache-control"] == "max-age=0, no-cache, no-store, must-revalidate, private"
        assert "expires" in headers and headers["x-content-type-options"] == "nosniff"
    # Other methods and pages are Django's, as before.
    assert get(app, "/-/alive", method="POST")[0] in (403, 405)  # CSRF first, else require_GET
    status, headers, _ = get(app, "/")
    assert status == 302 and headers["location"].startswith("/accounts/login/")
    assert django.paths == ["/-/alive", "/-/alive", "/"]
    app.close()


@pytest.mark.django_db(transaction=True)
def test_alive_under_ssl_redirect_stays_django_s_redirect(settings: Any) -> None:
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    django = Counting()
    app = asgi.build(2, django)
    for _ in range(2):
        status, headers, _ = get(app, "/-/alive")
        assert status == 301 and headers["location"] == "https://testserver/-/alive"
    assert get(app, "/-/alive", {"x-forwarded-proto": "https"})[0] == 200
    assert len(django.paths) == 3
    assert get(app, "/-/alive", {"x-forwarded-proto": "https"})[0] == 200
    assert len(django.paths) == 3  # the HTTPS answer is kept, the redirect never
    app.close()


def test_pages_run_at_a_lower_cpu_priority_than_the_loop() -> None:
    """The page threads yield the CPU to the event loop's thread (events, ``/-/alive``): nice +5."""
    seen: dict[str, int] = {}

    def page(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen["page"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    async def through_the_loop(app: Any) -> None:
        seen["loop"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        await app

    app = asgi.build(2, django=page)
    status, _, body = get(lambda scope, receive, send: through_the_loop(app(scope, receive, send)), "/a-page/")
    assert (status, body) == (200, b"ok")
    assert seen["page"] == min(19, seen["loop"] + asgi.PAGE_NICENESS)  # 19: the lowest priority there is
