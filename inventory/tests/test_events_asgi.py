"""The registry's notifications answered in the WSGI callable (``registry_admin.wsgi.application``),
ahead of Django's handler: the same answers, headers and refusals as through Django, and a real
registry whose dashboard was unreachable delivers what it queued once it is back (no gap)."""

from __future__ import annotations

import io
import json
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from django.core.wsgi import get_wsgi_application
from django.db import OperationalError, connections
from django.test import Client

from inventory import events, events_wsgi, gaps, receiving, services
from inventory.models import Event, EventsGap, Tag
from registry_admin.wsgi import django_application
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
    def __init__(self, status: str, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status_code = int(status.split()[0])
        self.headers = {name.lower(): value for name, value in headers}
        self.content = body

    def json(self) -> Any:
        return json.loads(self.content)


def call(
    app: Callable[..., Any],
    body: Any,
    token: str | None = TOKEN,
    content_type: str = V2,
    method: str = "POST",
    **environ: Any,
) -> Answer:
    """One request through ``app`` as gunicorn calls it."""
    data = body if isinstance(body, bytes) else (body if isinstance(body, str) else json.dumps(body)).encode()
    base = {
        "REQUEST_METHOD": method,
        "PATH_INFO": "/api/v1/events/",
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(data)),
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.7.7.7",
        "HTTP_HOST": "testserver",
        "wsgi.input": io.BytesIO(data),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }
    if token is not None:
        base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    base.update(environ)
    found: list[Any] = []
    chunks = app(base, lambda status, headers, exc_info=None: found.extend([status, headers]))
    try:
        content = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    return Answer(found[0], found[1], content)


def not_django(environ: dict[str, Any], start_response: Any) -> Any:
    raise AssertionError(f"Django's handler was called for {environ['REQUEST_METHOD']} {environ['PATH_INFO']}")


@pytest.fixture
def app() -> Iterator[events_wsgi.EventsApplication]:
    """The application as registry_admin/wsgi.py builds it (a new one: headers follow the settings)."""
    application = events_wsgi.EventsApplication(django_application)
    yield application
    application.close()


def test_the_registrys_events_are_stored_without_djangos_handler() -> None:
    quick = events_wsgi.EventsApplication(not_django)
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
    assert call(app, {"events": [event()]}, PATH_INFO="/api/v1/events/health/").status_code in (401, 403, 405)
    assert not Event.objects.exists()


def test_a_wrong_token_is_still_throttled_and_the_right_one_never(app: Any, settings: Any) -> None:
    from rest_framework.settings import api_settings
    from rest_framework.throttling import SimpleRateThrottle

    rates = {"token": "3/minute", "anon": "2/minute"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    api_settings.reload()
    old_rates = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = rates
    try:
        address = f"10.8.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
        right = [call(app, {"events": [event()]}, REMOTE_ADDR=address).status_code for _ in range(10)]
        assert right == [200] * 10
        wrong = [call(app, "{}", token="wrong", REMOTE_ADDR=address).status_code for _ in range(3)]
        assert wrong == [401, 401, 429]
        assert call(app, "{}", token=None, REMOTE_ADDR=address).status_code == 429
        assert call(app, {"events": [event()]}, REMOTE_ADDR=address).status_code == 200
        assert Event.objects.count() == 11
    finally:
        SimpleRateThrottle.THROTTLE_RATES = old_rates
        api_settings.reload()


def test_plain_http_is_redirected_when_ssl_redirect_is_on_and_https_is_answered_with_hsts(settings: Any) -> None:
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    app = events_wsgi.EventsApplication(get_wsgi_application())  # the middleware reads the settings once
    redirected = call(app, {"events": [event()]})
    assert redirected.status_code == 301
    assert redirected.headers["location"] == "https://testserver/api/v1/events/"
    assert not Event.objects.exists()
    behind_proxy = call(app, {"events": [event()]}, HTTP_X_FORWARDED_PROTO="https")
    assert behind_proxy.status_code == 200, behind_proxy.content
    assert behind_proxy.headers["strict-transport-security"] == "max-age=3600"
    assert Event.objects.count() == 1
    app.close()


def test_a_database_failure_on_the_quick_path_is_answered_by_django_and_nothing_is_lost(
    app: Any, monkeypatch: Any
) -> None:
    def refuse(alias: str) -> Any:
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(connections, "create_connection", refuse)
    first = event()
    answer = call(app, {"events": [first]})
    assert answer.status_code == 200 and answer.json()["stored"] == 1  # Django's connection stored it
    assert Event.objects.filter(event_id=first["id"]).exists()

    def fail(rows: list[Event]) -> int:
        raise OperationalError("database is locked")

    monkeypatch.setattr(receiving, "_insert", fail)
    refused = call(app, {"events": [event()]})
    assert refused.status_code == 503 and refused.json()["detail"]  # the registry retries it
    assert Event.objects.count() == 1
    monkeypatch.undo()
    assert call(app, {"events": [event()]}).json()["stored"] == 1  # a new connection next time
    assert Event.objects.count() == 2


def test_every_field_is_written_as_the_model_would_write_it() -> None:
    """The quick path's insert gives no DEFAULT: every field but ``received_at`` is a plain value."""
    automatic = {f.attname for f in events_wsgi._FIELDS if getattr(f, "auto_now", False) or f.has_default()}
    assert automatic <= {"received_at", "instance", "counted", "processed"}


# --- A real registry, and a dashboard it cannot reach for a while ---------------------------


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class Receiver:
    """``registry_admin.wsgi.application`` served on a fixed port, to stop and start again."""

    def __init__(self) -> None:
        self.port = _sys.free_port()
        self.app = events_wsgi.EventsApplication(django_application)
        self.server: WSGIServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1/events/"

    def start(self) -> None:
        self.server = make_server("127.0.0.1", self.port, self.app, server_class=_Server, handler_class=_Quiet)
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
