"""Fixtures shared by every app's tests.

The real services (Redis, a private dockerd, the registry container) are started once per
session by ``testenv.pytest_plugin`` (``-p`` in pyproject's addopts), before pytest-django
reads the settings; it also points DATA_DIR at a private directory.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

# Playwright's sync API runs an event loop in the test thread; the ORM calls made by the
# test itself (fixtures creating users) are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session", autouse=True)
def _static_files_without_collectstatic() -> Iterator[None]:
    """Serve static files from the source folders: tests do not run collectstatic."""
    from django.test.utils import override_settings

    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=storages, WHITENOISE_AUTOREFRESH=True):
        yield


@pytest.fixture(scope="session")
def django_db_modify_db_settings(request: pytest.FixtureRequest) -> None:
    """The test database is a SQLite file in WAL mode, as the product's, not Django's in-memory one.

    Django's default test database for SQLite is an in-memory database in shared-cache mode.
    Its locks are per table and answer SQLITE_LOCKED ("database table is locked") at once,
    without waiting for the busy timeout: a live-server request that read a table while a worker
    thread wrote it got a 503 ("database table is locked: inventory_tag"), which the product's
    file database does not give (a reader sees the last commit, a writer waits up to the busy
    timeout). Found by issue 12's fuzz; the tests now run on what the product runs on.
    """
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        worker = getattr(request.config, "workerinput", {}).get("workerid", "")  # pytest-xdist
        database.setdefault("TEST", {})["NAME"] = os.path.join(settings.DATA_DIR, f"test-db{worker}.sqlite3")


@pytest.fixture(autouse=True)
def _no_sync_on_worker_start(settings: object) -> None:
    """A test's Celery worker does not fill the inventory on start unless the test asks for it."""
    settings.INVENTORY_SYNC_ON_START = False  # type: ignore[attr-defined]


@pytest.fixture
def versioned_registry(each_registry: Any, settings: Any) -> Any:
    """Runs a test on v3.1.1 and on 2.8.2: the dashboard's settings point at that registry.

    For tests whose behaviour differs by version; ``versioned_registry.major`` is 3 or 2.
    """
    settings.REGISTRY_URL = each_registry.url
    settings.REGISTRY_CONTAINER = each_registry.container_name
    return each_registry


PASSWORD = "correct horse battery staple"  # noqa: S105 - test users only


def make_user(username: str, role: str | None, **extra: str) -> User:
    user = User.objects.create_user(username=username, password=PASSWORD, **extra)
    if role:
        # get_or_create: a transactional test (browser, Celery) flushes the groups the migration made
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


@pytest.fixture
def viewer(db: None) -> User:
    return make_user("vera", "viewer")


@pytest.fixture
def operator(db: None) -> User:
    return make_user("otto", "operator")


@pytest.fixture
def admin_user(db: None) -> User:
    return make_user("ada", "admin")


@pytest.fixture
def superuser(db: None) -> User:
    return User.objects.create_superuser("root", "root@localhost", PASSWORD)


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def viewer_client(viewer: User) -> Client:
    return logged_in(viewer)


@pytest.fixture
def operator_client(operator: User) -> Client:
    return logged_in(operator)


@pytest.fixture
def admin_client_role(admin_user: User) -> Client:
    return logged_in(admin_user)


@pytest.fixture(autouse=True)
def _fresh_cache(request: pytest.FixtureRequest) -> Iterator[None]:
    """Drop the dashboard's cache keys before and after each test, leaving Celery's broker keys
    alone. Before as well: the live server outlives a browser test, and a request its page still
    had under way can record a state (a registry found unreachable) after the test's own clean-up."""
    _drop_cache_keys()
    yield
    _drop_cache_keys()


def _drop_cache_keys() -> None:
    from django.conf import settings

    try:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1)
        prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
        for key in client.scan_iter(f"{prefix}:*", count=500):
            client.delete(key)
        client.close()
    except Exception:  # noqa: S110 - no Redis (skipped service): nothing was cached
        pass


@pytest.fixture
def silent_registry() -> Iterator[str]:
    """The URL of a "registry" that accepts connections and never answers: a request to it hangs."""
    from core.tests.faults import silent_server

    with silent_server() as url:
        yield url


@pytest.fixture
def events_token() -> str:
    """The bearer token ``v3_notifying_registry`` sends its events with; a test module overrides it."""
    return "notifying-registry-token"


@pytest.fixture
def v3_notifying_registry(
    engine: Any, live_server: Any, settings: Any, celery_worker: Any, events_token: str
) -> Iterator[Any]:
    """A v3.1.1 of its own sending its events to the live server, whose worker applies them;
    the dashboard's settings point at it and take ``events_token``."""
    from inventory.tests.notifying import registry_sending_events

    image = engine.registry_images.get(3)
    if image is None:
        pytest.skip("no v3 registry image")
    with registry_sending_events(engine, live_server, settings, image, events_token) as registry:
        yield registry


@pytest.fixture
def celery_worker(services: object, transactional_db: None) -> Iterator[object]:
    """A real Celery worker in threads of this process, consuming from the test Redis.

    The test's database is transactional: the worker's threads use their own connections and
    would not see a test's uncommitted transaction, and celery's Django fix-up closes the
    calling thread's connection when the worker starts (a no-op only on an in-memory database).
    """
    from celery.contrib.testing.worker import start_worker

    from registry_admin.celery import app

    # A message left in the queue by an earlier test (e.g. a health check nobody answered)
    # would otherwise run first, under that test's settings.
    app.control.purge()
    with start_worker(
        app, pool="threads", concurrency=2, perform_ping_check=False, loglevel="WARNING", shutdown_timeout=30
    ) as worker:
        yield worker


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's Chromium driven by Playwright (its own browser download cannot work here)."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing: make test installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def browser_login(page: object, live_server: object, user: User) -> None:
    """Log in through the real login form."""
    page.goto(f"{live_server.url}/accounts/login/")  # type: ignore[attr-defined]
    page.fill("input[name=username]", user.get_username())  # type: ignore[attr-defined]
    page.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_url(f"{live_server.url}/")  # type: ignore[attr-defined]
