"""The registry's notifications answered on the web's event loop (``registry_admin.asgi.application``),
ahead of Django's handler: the same answers, headers and refusals as through Django, envelopes
of many senders stored together and each answered after its commit, and a real registry whose
dashboard was unreachable delivers what it queued once it is back (no gap)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from a2wsgi import ASGIMiddleware
from django.core.wsgi import get_wsgi_application
from django.db import OperationalError
from django.test import Client

from core.tests.loops import run_coroutine
from core.tests.throttles import throttle_rates
from inventory import events, events_asgi, gaps, receiving, services
from inventory.models import Event, EventsGap, Tag
from registry_admin import asgi
from registry_client.client import OCI_MANIFEST
from testenv import _sys, images
from testenv.services import RegistryService, start_registry

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.database]  # also on PostgreSQL
TOKEN = "wsgi-events-token"
V2 = "application/vnd.docker.distribution.events.v2+json"


@pytest.fixture(autouse=True)
def _token(settings: Any) -> None:
    settings.REGISTRY_EVENTS_TOKEN = TOKEN


def event(repo: str = "team/app", tag: str = "v1", **extra: Any) -> dict[str, Any]:
    return {
        "id": extra.pop("id", str(uuid.uuid4())),
        "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "action": extra.pop("action", "pull"),
        "target": {"mediaType": OCI_MANIFEST, "repository": repo, "tag": tag, "digest": "sha256:" + "1" * 64},
        "request": {"addr": "10.0.0.5:4242", "method": "HEAD", "useragent": extra.pop("useragent", "docker/24")},
        "source": {"instanceID": "one"},
        **extra,
    }


class Answer:
    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.status_code = status
        self.headers = {name.decode().lower(): value.decode() for name, value in headers}
        self.content = body

    def json(self) -> Any:
        return json.loads(self.content)


def call(
    app: Callable[..., Any],
    body: Any,
    token: str | None = TOKEN,
    content_type: str = V2,
    method: str = "POST",
    path: str = "/api/v1/events/",
    scheme: str = "http",
    client: str = "10.7.7.7",
    headers: dict[str, str] | None = None,
) -> Answer:
    """One request through the ASGI application ``app`` as gunicorn's asgi worker calls it."""
    data = body if isinstance(body, bytes) else (body if isinstance(body, str) else json.dumps(body)).encode()
    sent = {"host": "testserver", "content-type": content_type, "content-length": str(len(data)), **(headers or {})}
    if token is not None:
        sent["authorization"] = f"Bearer {token}"
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": scheme,
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(name.encode(), value.encode()) for name, value in sent.items()],
        "client": (client, 4242),
        "server": ("testserver", 80),
    }
    messages = [{"type": "http.request", "body": data, "more_body": False}]
    answered: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await asyncio.sleep(3600)  # no disconnect while the answer is under way
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        answered.append(message)

    run_coroutine(app(scope, receive, send))
    start = next(m for m in answered if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in answered if m["type"] == "http.response.body")
    return Answer(start["status"], start.get("headers", []), content)


async def not_django(scope: Any, receive: Any, send: Any) -> None:
    raise AssertionError(f"Django's handler was called for {scope['method']} {scope['path']}")


@pytest.fixture
def app() -> Iterator[events_asgi.EventsApplication]:
    """The application as registry_admin/asgi.py builds it (a new one: headers follow the settings)."""
    application = asgi.build(4)
    yield application
    application.close()


def test_the_registrys_events_are_stored_without_djangos_handler() -> None:
    quick = events_asgi.EventsApplication(not_django)
    try:
        first = event()
        answer = call(quick, {"events": [first, event(tag="v2")]})
        assert answer.status_code == 200, answer.content
        assert answer.json() == {"stored": 2, "duplicates": 0, "ignored": 0}
        assert answer.headers["content-type"] == "application/json"
        again = call(quick, {"events": [first, event(useragent="registry-admin/1.0"), event(action="other")]})
        assert again.json() == {"stored": 0, "duplicates": 1, "ignored": 2}
        nul = call(quick, {"events": [event(useragent="docker\x00/24"), event(repo="sec/xss<b>")]})
        assert nul.json() == {"stored": 0, "duplicates": 0, "ignored": 2}  # as through Django
        stored = Event.objects.get(event_id=first["id"])
        assert (stored.action, stored.repository, stored.tag, stored.instance) == ("pull", "team/app", "v1", "one")
        assert stored.received_at is not None and not stored.processed
        assert Event.objects.count() == 2
    finally:
        quick.close()
    events.apply_pending()
    assert not Event.objects.filter(processed=False).exists()


def test_the_answer_carries_what_django_would_answer_with(app: Any, settings: Any) -> None:
    settings.SECURE_REFERRER_POLICY = "same-origin"
    quick = call(app, {"events": [event()]})
    through_django = Client().post(
        "/api/v1/events/", data=json.dumps({"events": [event()]}), content_type=V2, HTTP_AUTHORIZATION=f"Bearer {TOKEN}"
    )
    assert quick.json() == through_django.json() == {"stored": 1, "duplicates": 0, "ignored": 0}
    for header in ("content-type", "x-content-type-options", "referrer-policy", "cross-origin-opener-policy"):
        assert quick.headers.get(header) == through_django.headers.get(header), header
    assert quick.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("body", "token", "content_type", "status", "says"),
    [
        ({"events": [event()]}, None, V2, 401, "Authorization: Bearer"),
        ({"events": [event()]}, "wrong", V2, 401, "Authorization: Bearer"),
        ({"events": [event()]}, TOKEN, "text/plain", 415, "Content-Type"),
        ("not json", TOKEN, V2, 400, "not JSON"),
        ({"events": "x"}, TOKEN, V2, 400, '{"events": [...]}'),
        ({"events": [{"id": "x"}]}, TOKEN, V2, 400, "timestamp"),
        ('{"events": [' + "[" * 100 + "]" * 100 + "]}", TOKEN, V2, 400, "nested deeper than 64 levels"),
    ],
)
def test_what_the_quick_path_declines_django_answers_as_before(
    app: Any, body: Any, token: str | None, content_type: str, status: int, says: str
) -> None:
    answer = call(app, body, token=token, content_type=content_type)
    assert answer.status_code == status, answer.content
    assert says in answer.json()["detail"]
    assert not Event.objects.exists()


def test_a_body_too_large_is_django_s_413(app: Any, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    answer = call(app, {"events": [event()]})
    assert answer.status_code == 413 and "DATA_UPLOAD_MAX_MEMORY_SIZE" in answer.json()["detail"]
    assert not Event.objects.exists()


def test_other_methods_and_paths_go_to_django(app: Any) -> None:
    assert call(app, b"", method="GET").status_code in (302, 401, 403)  # the events list needs a login
    assert call(app, {"events": [event()]}, method="PUT").status_code == 405
    assert call(app, {"events": [event()]}, path="/api/v1/events/health/").status_code in (401, 403, 405)
    assert not Event.objects.exists()


def test_a_wrong_token_is_still_throttled_and_the_right_one_never(app: Any, settings: Any) -> None:
    with throttle_rates(settings, {"token": "3/minute", "anon": "2/minute"}):
        address = f"10.8.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
        right = [call(app, {"events": [event()]}, client=address).status_code for _ in range(10)]
        assert right == [200] * 10
        wrong = [call(app, "{}", token="wrong", client=address).status_code for _ in range(3)]
        assert wrong == [401, 401, 429]
        assert call(app, "{}", token=None, client=address).status_code == 429
        assert call(app, {"events": [event()]}, client=address).status_code == 200
        assert Event.objects.count() == 11


def test_plain_http_is_redirected_when_ssl_redirect_is_on_and_https_is_answered_with_hsts(settings: Any) -> None:
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    app = asgi.build(4, get_wsgi_application())  # the middleware reads the settings once
    redirected = call(app, {"events": [event()]})
    assert redirected.status_code == 301
    assert redirected.headers["location"] == "https://testserver/api/v1/events/"
    assert not Event.objects.exists()
    behind_proxy = call(app, {"events": [event()]}, headers={"x-forwarded-proto": "https"})
    assert behind_proxy.status_code == 200, behind_proxy.content
    assert behind_proxy.headers["strict-transport-security"] == "max-age=3600"
    assert Event.objects.count() == 1
    app.close()


def test_a_database_failure_on_the_quick_path_is_answered_by_django_and_nothing_is_lost(
    app: Any, monkeypatch: Any
) -> None:
    def refuse(self: Any, envelopes: Any) -> Any:
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(events_asgi.Writer, "_transaction", refuse)
    first = event()
    answer = call(app, {"events": [first]})
    assert answer.status_code == 200 and answer.json()["stored"] == 1  # Django's connection stored it
    assert Event.objects.filter(event_id=first["id"]).exists()
    monkeypatch.undo()

    def fail(cursor: Any, rows: list[Event]) -> int:
        raise OperationalError("database is locked")

    monkeypatch.setattr(receiving, "insert_rows", fail)  # both paths' statements
    refused = call(app, {"events": [event()]})
    assert refused.status_code == 503 and refused.json()["detail"]  # the registry retries it
    assert Event.objects.count() == 1
    monkeypatch.undo()
    assert call(app, {"events": [event()]}).json()["stored"] == 1  # a new connection next time
    assert Event.objects.count() == 2


def test_envelopes_of_many_senders_are_stored_together_and_each_answered_after_its_commit(
    app: Any, monkeypatch: Any
) -> None:
    """The writer stores every envelope waiting in one transaction, and each sender's answer
    carries its own tally (a duplicate across envelopes of one group counted once)."""
    groups: list[int] = []
    transaction = events_asgi.Writer._transaction

    def counted(self: Any, envelopes: Any) -> Any:
        groups.append(len(envelopes))
        time.sleep(0.05)  # the others queue meanwhile
        return transaction(self, envelopes)

    monkeypatch.setattr(events_asgi.Writer, "_transaction", counted)
    shared = event()
    bodies = [{"events": [event(), shared]} for _ in range(8)]

    async def eight() -> list[Answer]:
        return await asyncio.gather(*(asyncio.to_thread(call, app, body) for body in bodies))

    answers = run_coroutine(eight())
    assert [a.status_code for a in answers] == [200] * 8
    assert sum(a.json()["stored"] for a in answers) == 9 and sum(a.json()["duplicates"] for a in answers) == 7
    assert Event.objects.count() == 9
    assert sum(groups) == 8 and max(groups) > 1, groups


def test_an_answer_no_longer_awaited_is_not_stored_and_the_writer_goes_on(monkeypatch: Any) -> None:
    """A sender that went away cancels its answer: the registry sends that envelope again, so the
    writer skips it (a cancelled future cannot take a result) and serves the next ones."""
    writer = events_asgi.Writer()
    held = threading.Event()
    transaction = events_asgi.Writer._transaction

    def slow(self: Any, envelopes: Any) -> Any:
        held.wait(10)
        return transaction(self, envelopes)

    monkeypatch.setattr(events_asgi.Writer, "_transaction", slow)
    documents = [{"events": [event()]} for _ in range(3)]
    try:
        first = writer.submit(documents[0], receiving.parse(documents[0]))
        time.sleep(0.3)  # the writer holds the first group
        gone = writer.submit(documents[1], receiving.parse(documents[1]))
        assert gone.cancel()
        held.set()
        assert first.result(timeout=30).stored == 1
        third = writer.submit(documents[2], receiving.parse(documents[2]))
        assert third.result(timeout=30).stored == 1
    finally:
        held.set()
        writer.close()
    stored = set(Event.objects.values_list("event_id", flat=True))
    assert stored == {documents[0]["events"][0]["id"], documents[2]["events"][0]["id"]}


def test_every_field_is_written_as_the_model_would_write_it() -> None:
    """The quick path's insert gives no DEFAULT: every field but ``received_at`` is a plain value."""
    automatic = {f.attname for f in receiving._FIELDS if getattr(f, "auto_now", False) or f.has_default()}
    assert automatic <= {"received_at", "instance", "counted", "processed"}


# --- A real registry, and a dashboard it cannot reach for a while ---------------------------


class _Server(ThreadingMixIn, WSGIServer):  # the ASGI application through a2wsgi's ASGIMiddleware
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class Receiver:
    """``registry_admin.asgi``'s application served on a fixed port, to stop and start again."""

    def __init__(self) -> None:
        self.port = _sys.free_port()
        self.app = asgi.build(4)
        self.wsgi = ASGIMiddleware(self.app)  # type: ignore[arg-type]
        self.server: WSGIServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1/events/"

    def start(self) -> None:
        self.server = make_server("127.0.0.1", self.port, self.wsgi, server_class=_Server, handler_class=_Quiet)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def within(seconds: float, check: Callable[[], bool]) -> float:
    began = time.monotonic()
    while not check():
        if time.monotonic() - began > seconds:
            raise AssertionError(f"not within {seconds} s")
        time.sleep(0.1)
    return time.monotonic() - began


@pytest.fixture(params=[3, 2], ids=["v3", "v2"])
def unreachable(
    request: pytest.FixtureRequest, engine: Any, settings: Any
) -> Iterator[tuple[RegistryService, Receiver]]:
    image = engine.registry_images.get(request.param)
    if image is None:
        pytest.skip(f"no v{request.param} registry image")
    receiver = Receiver()
    receiver.start()
    value = services.notifications_setting(receiver.url, TOKEN)
    registry = start_registry(
        engine, f"unreach-{uuid.uuid4().hex[:8]}", env={"REGISTRY_NOTIFICATIONS_ENDPOINTS": value}, image=image
    )
    settings.REGISTRY_URL = registry.url
    try:
        yield registry, receiver
    finally:
        receiver.stop()
        receiver.app.close()
        registry.remove()


def test_a_registry_the_dashboard_could_not_reach_delivers_its_queue_when_it_is_back_and_no_gap_is_needed(
    unreachable: tuple[RegistryService, Receiver],
) -> None:
    """The registry keeps undelivered events in memory and retries them for as long as its process
    lives (distribution's eventQueue feeding go-events' RetryingSink): a dashboard that was down or
    cut off loses nothing while the registry stays up. A restart loses the queue, and that is a
    gap (a new ``source.instanceID``; test_events_gaps)."""
    registry, receiver = unreachable
    before = images.push_oci_image(registry.url, "reach/app", "before")
    within(30, lambda: Event.objects.filter(repository="reach/app", tag="before", action="push").exists())
    receiver.stop()  # the dashboard is unreachable: connections refused
    while_down = images.push_oci_image(registry.url, "reach/app", "while-down")
    time.sleep(4)  # the registry fails, backs off and keeps them
    assert not Event.objects.filter(tag="while-down").exists()
    receiver.start()
    within(60, lambda: Event.objects.filter(repository="reach/app", tag="while-down", action="push").exists())
    events.apply_pending()
    tags = dict(Tag.objects.filter(repository__name="reach/app").values_list("name", "digest"))
    assert tags == {"before": before, "while-down": while_down}
    assert gaps.watch(receiving.take_refused_since()) == []  # nothing was refused: it could not connect
    assert not EventsGap.objects.exists()
