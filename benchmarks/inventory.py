"""``make benchmark-inventory``: the inventory (issue 13) against an optimal raw client, on real services.

Starts Redis, a private dockerd and the test registry image (testenv.start_all), then a
registry of its own whose data lives in ``.testenv/bench-inventory/`` so the slow seed (10,000
repositories and one of 5,000 tags, through the raw v2 API) is made once and kept between runs.
Measures, medians of several runs unless said:

- the raw client: catalog, every tag list, then manifest and config of every tag, 16 requests
  in parallel on one pooled session (what any tool needs for the same details);
- the first reconcile of an empty inventory (CATALOG_CONCURRENCY=16, as the raw client), and a
  reconcile with nothing changed, with its registry requests;
- pages and API from the inventory, with the registry client refusing every request: the
  catalog's first page (API and HTML), a search, the 5,000-tag repository's first page sorted by
  created (HTML and API), all 5,000 rows through the API (5 pages of 1,000);
- this process's peak RSS (it is web and worker at once here).

Prints the figures and writes them into ``benchmarks/README.md`` under "Inventory". Not a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests

from benchmarks.seed import seed_repositories, seed_tags
from testenv import images
from testenv.services import start_all, start_registry, stop_all

ROOT = Path(__file__).resolve().parent.parent
SEED_DIR = ROOT / ".testenv" / "bench-inventory"
BIG = "bench/big"
README = Path(__file__).with_name("README.md")
MARK_START = "<!-- inventory-benchmark -->"
MARK_END = "<!-- /inventory-benchmark -->"


def _pages(session: requests.Session, url: str, path: str, key: str) -> list[str]:
    items: list[str] = []
    next_url: str | None = f"{url}{path}?n=1000"
    while next_url:
        answer = session.get(next_url, timeout=60)
        if answer.status_code == 404:  # seed/base holds the shared layer only: no tags
            return items
        answer.raise_for_status()
        page = answer.json().get(key) or []
        items.extend(page)
        link = answer.links.get("next", {}).get("url") if page else None
        next_url = urljoin(f"{url}/", link) if link else None
    return items


def raw_client_run(url: str, session: requests.Session, parallel: int = 16) -> int:
    """Catalog, tag lists, manifest + config of every tag: the details the inventory holds."""
    names = _pages(session, url, "/v2/_catalog", "repositories")
    with ThreadPoolExecutor(parallel) as pool:
        lists = list(pool.map(lambda name: _pages(session, url, f"/v2/{name}/tags/list", "tags"), names))
    pairs = [(name, tag) for name, tags in zip(names, lists, strict=True) for tag in tags]

    def one(pair: tuple[str, str]) -> int:
        name, tag = pair
        manifest = session.get(f"{url}/v2/{name}/manifests/{tag}", headers={"Accept": images.ACCEPT_ALL}, timeout=60)
        manifest.raise_for_status()
        config = session.get(f"{url}/v2/{name}/blobs/{manifest.json()['config']['digest']}", timeout=60)
        config.raise_for_status()
        return len(config.content)

    with ThreadPoolExecutor(parallel) as pool:
        return len(list(pool.map(one, pairs)))


def timed(function: Callable[[], object], runs: int) -> list[float]:
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - start)
    return seconds


def seed(url: str, repositories: int, tags: int, seed_dir: Path) -> str:
    mark = seed_dir / "seeded.json"
    wanted = {"repositories": repositories, "tags": tags}
    if mark.exists() and json.loads(mark.read_text()) == wanted:
        return "kept from an earlier run"
    started = time.perf_counter()
    seed_tags(url, BIG, tags)
    tags_seconds = time.perf_counter() - started
    started = time.perf_counter()
    seed_repositories(url, [f"bench/r{i:05d}" for i in range(repositories - 1)])
    repos_seconds = time.perf_counter() - started
    mark.write_text(json.dumps(wanted))
    return f"{tags_seconds:.0f} s for the tags, {repos_seconds:.0f} s for the repositories"


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.inventory", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tags", type=int, default=5000)
    parser.add_argument("--repositories", type=int, default=10000)
    parser.add_argument("--seed-dir", default=str(SEED_DIR), help="where the seeded registry's data is kept")
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args()
    print("Starting Redis, dockerd and the registry ...", flush=True)
    services = start_all()
    try:
        return _run(services, args)
    finally:
        stop_all(services)


def _run(services: Any, args: argparse.Namespace) -> int:
    seed_dir = Path(args.seed_dir)
    (seed_dir / "data").mkdir(parents=True, exist_ok=True)
    registry = start_registry(
        services.engine, "bench-inventory", data_dir=seed_dir / "data", image=services.registry_image
    )
    url = registry.url
    version = registry.exec("registry", "--version")[1].strip()
    print(f"Registry {version} at {url}; seeding ...", flush=True)
    seeded = seed(url, args.repositories, args.tags, seed_dir)
    print(f"Seed: {seeded}", flush=True)

    os.environ.update(services.environ())
    os.environ["REGISTRY_URL"] = url
    os.environ.pop("DATABASE_URL", None)
    os.environ["DATA_DIR"] = tempfile.mkdtemp(prefix="bench-data-", dir=services.workdir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_admin.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["CATALOG_CONCURRENCY"] = "16"
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import override_settings
    from django.utils import timezone

    from catalog.registry import RegistryClient, get_client
    from inventory import sync
    from maintenance.models import Job

    call_command("migrate", verbosity=0)
    user = User.objects.create_superuser("bench", "bench@localhost", "bench-password-not-secret")
    client = Client()
    client.force_login(user)
    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=16))

    print("Raw client ...", flush=True)
    raw_client_run(url, session)  # warm the registry's caches and our connections once
    raw = timed(lambda: raw_client_run(url, session), max(1, min(args.runs, 3)))
    print(f"Raw client: {[round(x, 2) for x in raw]} s", flush=True)
    print("First reconcile ...", flush=True)
    started = time.perf_counter()
    first = sync.reconcile(
        log=lambda line: print(f"  {time.perf_counter() - started:6.1f} s  {line}", flush=True), client=get_client()
    )
    first_seconds = time.perf_counter() - started
    Job.objects.create(kind="sync", status="succeeded", result=first.as_dict(), finished_at=timezone.now())
    started = time.perf_counter()
    unchanged = sync.reconcile(log=lambda line: None, client=get_client())
    unchanged_seconds = time.perf_counter() - started
    print(f"Unchanged reconcile: {unchanged_seconds:.1f} s, {unchanged.requests}", flush=True)

    asked: list[str] = []

    def refuse(self: RegistryClient, method: str, path: str, **kwargs: Any) -> Any:
        asked.append(f"{method} {path}")
        raise RuntimeError(f"the benchmark's pages asked the registry: {method} {path}")

    real = RegistryClient.request
    RegistryClient.request = refuse  # type: ignore[method-assign]

    def get(path: str, **params: str) -> bytes:
        answer = client.get(path, params)
        if answer.status_code != 200:
            raise SystemExit(f"{path} answered {answer.status_code}: {answer.content[:300]!r}")
        return answer.content

    def all_rows() -> None:
        rows = 0
        for page in range(1, (args.tags + 999) // 1000 + 1):
            body = json.loads(get(f"/api/v1/repositories/{BIG}/tags/", page_size="1000", page=str(page)))
            rows += len(body["results"])
        assert rows == args.tags, rows

    runs = args.runs
    with override_settings(STORAGES=storages):
        get("/catalog/")
        figures = {
            "catalog_api": timed(lambda: get("/api/v1/repositories/"), runs),
            "catalog_page": timed(lambda: get("/catalog/"), runs),
            "search_api": timed(lambda: get("/api/v1/repositories/", search="r0999"), runs),
            "search_page": timed(lambda: get("/catalog/", q="r0999"), runs),
            "big_page": timed(lambda: get(f"/catalog/r/{BIG}/", sort="-created"), runs),
            "big_api": timed(lambda: get(f"/api/v1/repositories/{BIG}/tags/", ordering="-created"), runs),
            "big_all": timed(all_rows, runs),
        }
        html_bytes = len(get(f"/catalog/r/{BIG}/", sort="-created"))
    RegistryClient.request = real  # type: ignore[method-assign]
    medians = {key: statistics.median(values) for key, values in figures.items()}
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    raw_m = statistics.median(raw)
    context = {
        "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs (load average {os.getloadavg()[0]:.1f}), "
        f"Python {platform.python_version()}",
        "registry": re.sub(r"^registry\s+", "", version),
        "seeded": seeded,
        "runs": runs,
        "repositories": args.repositories,
        "tags": args.tags,
        "concurrency": settings.CATALOG_CONCURRENCY,
    }
    report = render(raw_m, first_seconds, first, unchanged_seconds, unchanged, medians, html_bytes, rss_mb, context)
    print(report)
    if not args.no_readme:
        text = README.read_text()
        block = f"{MARK_START}\n{report}\n{MARK_END}"
        if MARK_START in text:
            text = re.sub(re.escape(MARK_START) + ".*?" + re.escape(MARK_END), lambda m: block, text, flags=re.S)
        else:
            text = text.rstrip() + "\n\n## Inventory (issue 13)\n\n" + INTRO + "\n" + block + "\n"
        README.write_text(text)
        print(f"Wrote {README}")
    registry.remove()
    return 0


INTRO = """`make benchmark-inventory` (`python -m benchmarks.inventory`): by default a registry of
10,000 repositories (one small image each) and `bench/big` with 5,000 tags (each its own
manifest), seeded once into `.testenv/bench-inventory/` and kept between runs (`--repositories`,
`--tags`, `--seed-dir` change that; the run's line below says what was measured). The raw client fetches the
same details the inventory holds (catalog, every tag list, manifest and config of every tag,
16 in parallel); the reconcile runs with CATALOG_CONCURRENCY=16. Page and API timings go
through Django's full stack (session auth, middleware, DRF) with the registry client refusing
any request, i.e. from the database alone (SQLite). RSS is this one process's peak: it served
as web and worker at once.
"""


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds >= 0.01 else f"{seconds * 1000:.1f} ms"


def render(
    raw: float,
    first_seconds: float,
    first: Any,
    unchanged_seconds: float,
    unchanged: Any,
    medians: dict[str, float],
    html_bytes: int,
    rss_mb: float,
    context: dict[str, Any],
) -> str:
    def verdict(ok: bool) -> str:
        return "met" if ok else "MISSED"

    rows = [
        ("Raw client: catalog, tag lists, manifest + config per tag, 16 parallel", raw, "1.00x", "reference"),
        (
            f"First reconcile of an empty inventory ({first.requests['total']:,} requests)",
            first_seconds,
            f"{first_seconds / raw:.2f}x",
            f"≤ 1.0x raw: {verdict(first_seconds <= raw)} (1 run)",
        ),
        (
            f"Reconcile, nothing changed ({unchanged.requests['total']:,} requests: "
            f"{unchanged.requests['tag_lists']:,} tag lists, {unchanged.requests['head']:,} HEADs, "
            f"{unchanged.requests['get']} GETs)",
            unchanged_seconds,
            f"{unchanged_seconds / raw:.2f}x",
            "reported (1 run; events off, so every tag is HEADed)",
        ),
        ("Catalog API first page", medians["catalog_api"], "", f"< 100 ms: {verdict(medians['catalog_api'] < 0.1)}"),
        ("Catalog HTML first page", medians["catalog_page"], "", f"< 100 ms: {verdict(medians['catalog_page'] < 0.1)}"),
        ("Search, API", medians["search_api"], "", f"< 150 ms: {verdict(medians['search_api'] < 0.15)}"),
        ("Search, HTML", medians["search_page"], "", f"< 150 ms: {verdict(medians['search_page'] < 0.15)}"),
        (
            f"{context['tags']:,}-tag repository, first page by created, HTML ({html_bytes / 1024:,.0f} KB)",
            medians["big_page"],
            "",
            f"< 150 ms: {verdict(medians['big_page'] < 0.15)}",
        ),
        (
            "5,000-tag repository, first page by created, API",
            medians["big_api"],
            "",
            f"< 150 ms: {verdict(medians['big_api'] < 0.15)}",
        ),
        (
            "All 5,000 rows through the API (5 pages of 1,000)",
            medians["big_all"],
            "",
            f"< 1 s: {verdict(medians['big_all'] < 1)}",
        ),
    ]
    lines = [
        f"Run {context['when']} on {context['machine']}; registry {context['registry']}; "
        f"{context['repositories']:,} repositories and {context['tags']:,} tags (seed: {context['seeded']}); "
        f"medians of {context['runs']} runs; CATALOG_CONCURRENCY={context['concurrency']}.",
        "",
        "| Measurement | Median | vs raw | Target |",
        "|---|---:|---:|---|",
        *(f"| {name} | {_ms(seconds)} | {ratio} | {target} |" for name, seconds, ratio, target in rows),
        "",
        f"Peak RSS of the process (web and worker in one): {rss_mb:,.0f} MB (target < 250 MB each: "
        f"{verdict(rss_mb < 250)}).",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
