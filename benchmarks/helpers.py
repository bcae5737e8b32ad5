"""What both benchmarks share: the timing loop, the raw client's requests, the Django set-up,
the machine's description and its load while a benchmark ran."""

from __future__ import annotations

import os
import platform
import re
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests

from testenv import images


def web_command(port: int, app: str = "registry_admin.asgi:application", workers: int | None = None) -> list[str]:
    """gunicorn as ``make run`` and the image start it (scripts/run.sh, deploy/entrypoint.sh): the
    asgi worker on uvloop, deploy/gunicorn.conf.py (its access log on), WEB_WORKERS processes
    (else 1); the application reads WEB_THREADS (else 8) itself."""
    count = workers if workers is not None else int(os.environ.get("WEB_WORKERS") or "1")
    return [
        *[str(Path(sys.executable).parent / "gunicorn"), app, "--bind", f"127.0.0.1:{port}", "--workers", str(count)],
        *["--worker-class", "asgi", "--asgi-loop", "uvloop", "--config", "deploy/gunicorn.conf.py"],
    ]


# The pages are rendered without collectstatic's manifest.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}


def with_services(run: Callable[[Any, Any], int], args: Any) -> int:
    """``run(services, args)`` with Redis, a private dockerd and the registries running, stopped after."""
    from testenv.services import start_all, stop_all

    print("Starting Redis, dockerd and the registry ...", flush=True)
    services = start_all()
    try:
        return run(services, args)
    finally:
        stop_all(services)


def timed(function: Callable[[], object], runs: int, before: Callable[[], None] | None = None) -> list[float]:
    """Seconds per run; ``before`` runs untimed ahead of each one (e.g. emptying a cache)."""
    seconds = []
    for _ in range(runs):
        if before is not None:
            before()
        start = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - start)
    return seconds


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds >= 0.01 else f"{seconds * 1000:.1f} ms"


def raw_session(parallel: int = 16) -> requests.Session:
    """One pooled session for the raw client's ``parallel`` threads."""
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=parallel))
    return session


def fetch_pages(session: requests.Session, url: str, path: str, key: str) -> list[str]:
    """Every item of a ``Link``-paged list (catalog or tags), 1000 a page; [] for a repository without tags."""
    items: list[str] = []
    next_url: str | None = f"{url}{path}?n=1000"
    while next_url:
        answer = session.get(next_url, timeout=60)
        if answer.status_code == 404:  # a repository holding blobs only (the seed's source of layers)
            return items
        answer.raise_for_status()
        page = answer.json().get(key) or []
        items.extend(page)
        link = answer.links.get("next", {}).get("url") if page else None  # v3.1.1: a null page ends it
        next_url = urljoin(f"{url}/", link) if link else None
    return items


def fetch_manifest_and_config(session: requests.Session, url: str, repository: str, tag: str) -> int:
    """What a hand-written client needs for a tag's size, date and platform: its manifest and config."""
    manifest = session.get(f"{url}/v2/{repository}/manifests/{tag}", headers={"Accept": images.ACCEPT_ALL}, timeout=60)
    manifest.raise_for_status()
    config = session.get(f"{url}/v2/{repository}/blobs/{manifest.json()['config']['digest']}", timeout=60)
    config.raise_for_status()
    return len(config.content)


def setup_django(environ: dict[str, str]) -> None:
    """Settings from ``environ`` (the services' variables and a DATA_DIR), then ``django.setup``.

    SQLite in DATA_DIR unless ``environ`` names a DATABASE_URL.
    """
    os.environ.pop("DATABASE_URL", None)
    os.environ.update(environ)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_admin.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


def logged_in_client() -> Any:
    """A test client logged in as a new superuser, through Django's full stack."""
    from django.contrib.auth.models import User
    from django.test import Client

    user = User.objects.filter(username="bench").first() or User.objects.create_superuser(
        "bench", "bench@localhost", "bench-password-not-secret"
    )
    client = Client()
    client.force_login(user)
    return client


def get_ok(client: Any, path: str, **params: str) -> bytes:
    """GET through the client; anything but 200 ends the benchmark with the answer."""
    answer = client.get(path, params)
    if answer.status_code != 200:
        raise SystemExit(f"{path} answered {answer.status_code}: {answer.content[:300]!r}")
    return bytes(answer.content)


def count_registry_requests() -> list[str]:
    """From now on every request the dashboard's registry client sends is appended to the list
    returned ("GET /v2/..."): the reads from the inventory should send none."""
    from registry_client.client import RegistryClient

    asked: list[str] = []
    real = RegistryClient.request

    def counted(self: RegistryClient, method: str, path: str, **kwargs: Any) -> Any:
        asked.append(f"{method} {path}")
        return real(self, method, path, **kwargs)

    RegistryClient.request = counted  # type: ignore[method-assign]
    return asked


def write_block(readme: Path, name: str, block: str) -> None:
    """Replace the text between ``<!-- name -->`` and ``<!-- /name -->`` in ``readme`` (appended
    when the markers are missing), leaving the rest of the file as it is."""
    start, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    text = readme.read_text()
    marked = f"{start}\n{block}\n{end}"
    if start in text:
        text = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: marked, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + marked + "\n"
    readme.write_text(text)


def machine(load: str = "") -> str:
    """``x86_64, 2 CPUs (load ...), Python 3.11.7``."""
    described = f" ({load})" if load else ""
    return f"{platform.machine()}, {os.cpu_count()} CPUs{described}, Python {platform.python_version()}"


class LoadSampler:
    """The one-minute load average every few seconds while a benchmark runs (other jobs share the
    CPUs), by phase: ``phase = "..."`` names the samples that follow."""

    def __init__(self, every: float = 5.0) -> None:
        self.every = every
        self.phase = ""
        self.samples: list[tuple[str, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="load-sampler", daemon=True)

    def _run(self) -> None:
        while True:
            self.samples.append((self.phase, os.getloadavg()[0]))
            if self._stop.wait(self.every):
                return

    def __enter__(self) -> LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> str:
        """``load average 8.1-14.2, median 11.0 (raw client 12.0, sync 10.1, ...)``, medians by phase."""
        values = [value for _, value in self.samples]
        if not values:
            return f"load average {os.getloadavg()[0]:.1f}"
        phases: dict[str, list[float]] = {}
        for phase, value in self.samples:
            if phase:
                phases.setdefault(phase, []).append(value)
        by_phase = ", ".join(f"{phase} {statistics.median(found):.1f}" for phase, found in phases.items())
        return f"load average {min(values):.1f}-{max(values):.1f}, median {statistics.median(values):.1f}" + (
            f"; medians: {by_phase}" if by_phase else ""
        )
