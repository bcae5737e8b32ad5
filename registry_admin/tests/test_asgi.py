"""The web's ASGI application (registry_admin/asgi.py): ``/-/alive`` answered on the event loop as
Django answers it, without a thread of the pool, and every other page through Django as before."""

from __future__ import annotations

import asyncio
import gc
import os
import runpy
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
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


@contextmanager
def full_collections_in_this_thread() -> Iterator[list[float]]:
    """The full collections (generation 2) that the calling thread runs while inside."""
    me = threading.get_ident()
    seen: list[float] = []

    def note(phase: str, info: dict[str, int]) -> None:
        if phase == "stop" and info["generation"] == 2 and threading.get_ident() == me:
            seen.append(asyncio.get_event_loop().time())

    gc.callbacks.append(note)
    try:
        yield seen
    finally:
        gc.callbacks.remove(note)


def collections_around_a_page(idle: float, latest: float) -> tuple[int, int]:
    """A page that runs 0.3 s under ``QuietCollections``: the loop's full collections while it
    ran, and in the 0.3 s after it ended."""

    async def scenario() -> tuple[int, int]:
        release = asyncio.Event()

        async def page(scope: Any, receive: Any, send: Any) -> None:
            await release.wait()

        app = asgi.QuietCollections(page, idle=idle, latest=latest, check=0.01)  # type: ignore[arg-type]
        with full_collections_in_this_thread() as seen:
            running = asyncio.create_task(app({}, None, None))  # type: ignore[arg-type]
            await asyncio.sleep(0.3)
            during = len(seen)
            release.set()
            await running
            await asyncio.sleep(0.3)
            after = len(seen) - during
        assert app._timer is not None
        app._timer.cancel()
        return during, after

    return run_coroutine(scenario())


def test_full_collections_wait_until_no_page_runs() -> None:
    """The loop takes no full collection while a page runs, and takes one once none does."""
    during, after = collections_around_a_page(idle=0.05, latest=60)
    assert during == 0
    assert after >= 1


def test_full_collections_are_taken_at_the_latest_bound_even_while_pages_run() -> None:
    during, _ = collections_around_a_page(idle=60, latest=0.1)
    assert during >= 1


def test_the_web_process_leaves_full_collections_to_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """gunicorn's ``post_worker_init`` (the web process, after the app is loaded) freezes what the
    app loaded and stops the interpreter's own full collections; the young ones go on."""
    before = gc.get_threshold()
    monkeypatch.setattr(gc, "freeze", lambda: None)  # the test process's objects stay collectable
    conf = runpy.run_path(str(Path(__file__).resolve().parents[2] / "deploy" / "gunicorn.conf.py"))
    try:
        conf["post_worker_init"](object())
        assert gc.get_threshold() == (before[0], before[1], 2**31 - 1)
    finally:
        gc.set_threshold(*before)
