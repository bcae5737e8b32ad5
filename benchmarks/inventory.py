"""``make benchmark-inventory``: the inventory (issue 13) against an optimal raw client, on real services.

Starts Redis, a private dockerd and the test registry image (testenv.start_all), then a
registry of its own whose data lives in ``.testenv/bench-inventory/`` so the slow seed (10,000
repositories and one of 5,000 tags, through the raw v2 API) is made once and kept between runs.
Measures, with the machine's load sampled throughout:

- the raw client: catalog, every tag list, then manifest and config of every tag, 16 requests
  in parallel on one pooled session (what any tool needs for the same details); median of 3;
- in a worker process of its own, two sync jobs as the worker runs them (``run_sync``,
  CATALOG_CONCURRENCY=16, events off): the first of an empty inventory, then one with nothing
  changed, with their registry requests; then that process's RSS;
- in another worker process with an empty database and REGISTRY_DATA_DIR pointing at the
  registry's data directory (issue 24): the first sync from the storage files, then one with
  nothing changed, with their registry requests (the sample check only) and that process's RSS;
- in a web process of its own, pages and API from the inventory (medians), counting every
  registry request they make: the catalog's first page (API and HTML), a search, the
  5,000-tag repository's first page sorted by created (HTML and API), all 5,000 rows through
  the API (5 pages of 1,000); then that process's RSS.

Prints the figures and writes them into ``benchmarks/README.md`` under "Inventory". Not a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import re
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from benchmarks.helpers import (
    STORAGES,
    LoadSampler,
    count_registry_requests,
    fetch_manifest_and_config,
    fetch_pages,
    get_ok,
    logged_in_client,
    machine,
    ms,
    raw_session,
    setup_django,
    timed,
    with_services,
    write_block,
)
from benchmarks.seed import seed_repositories, seed_tags
from testenv.services import start_registry

ROOT = Path(__file__).resolve().parent.parent
SEED_DIR = ROOT / ".testenv" / "bench-inventory"
BIG = "bench/big"
README = Path(__file__).with_name("README.md")


def raw_client_run(url: str, session: requests.Session, parallel: int = 16) -> int:
    """Catalog, tag lists, manifest + config of every tag: the details the inventory holds."""
    names = fetch_pages(session, url, "/v2/_catalog", "repositories")
    with ThreadPoolExecutor(parallel) as pool:
        lists = list(pool.map(lambda name: fetch_pages(session, url, f"/v2/{name}/tags/list", "tags"), names))
    pairs = [(name, tag) for name, tags in zip(names, lists, strict=True) for tag in tags]
    with ThreadPoolExecutor(parallel) as pool:
        return len(list(pool.map(lambda pair: fetch_manifest_and_config(session, url, *pair), pairs)))


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


def _rss_mb() -> tuple[float, float]:
    """This process's peak and current resident memory, in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with open("/proc/self/statm") as statm:
        current = int(statm.read().split()[1]) * resource.getpagesize() / 1024 / 1024
    return peak, current


def worker_role(environ: dict[str, str]) -> dict[str, Any]:
    """The worker's half, in a process of its own: the first sync job and one with nothing changed,
    each run as the worker runs it (``maintenance.tasks.run_sync`` on a queued job)."""
    setup_django(environ)
    from django.core.management import call_command

    from inventory.tasks import run_sync
    from jobs.models import Job

    call_command("migrate", verbosity=0)

    def sync_job() -> tuple[float, dict[str, Any]]:
        job = Job.objects.create(kind=Job.Kind.SYNC, status=Job.Status.QUEUED, params={"reason": "benchmark"})
        started = time.perf_counter()
        run_sync(job.pk)
        seconds = time.perf_counter() - started
        job.refresh_from_db()
        if job.status != Job.Status.SUCCEEDED:
            raise SystemExit(f"The sync job {job.status}: {job.error}")
        for line in job.output.splitlines():
            print(f"    {line}", flush=True)
        return seconds, dict(job.result or {})

    print("First sync (an empty inventory) ...", flush=True)
    first_seconds, first = sync_job()
    print(f"First sync: {first_seconds:.1f} s", flush=True)
    print("Sync with nothing changed ...", flush=True)
    unchanged_seconds, unchanged = sync_job()
    print(f"Unchanged sync: {unchanged_seconds:.1f} s, {unchanged['requests']}", flush=True)
    peak, current = _rss_mb()
    return {
        "first_seconds": first_seconds,
        "first": first,
        "unchanged_seconds": unchanged_seconds,
        "unchanged": unchanged,
        "rss_peak": peak,
        "rss_now": current,
    }


def drop_page_cache() -> bool:
    """Empty the kernel's page cache (root only): what a sync meets after the cache went cold; False
    when it cannot."""
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError:
        return False
    return True


def files_role(environ: dict[str, str], cold: bool = False) -> dict[str, Any]:
    """The sync from the storage files (REGISTRY_DATA_DIR), in a process and a database of its own,
    as a worker runs the jobs: the first sync job (what it counts: the inventory written, the job
    done), the space figures' own task it queued (``inventory.tasks.measure_storage``, timed on its
    own), a sync with nothing changed with the page cache warm and, with ``cold``, one more after
    emptying the page cache (also emptied before the first sync)."""
    setup_django(environ)
    from django.core.management import call_command

    from inventory import tasks

    call_command("migrate", verbosity=0)
    found: dict[str, Any] = {"cold": cold, "unchanged_cold_seconds": None}

    def sync(key: str, label: str) -> None:
        print(f"{label} ...", flush=True)
        started = time.perf_counter()
        found[key] = tasks_sync_job()
        found[f"{key}_seconds"] = time.perf_counter() - started
        print(f"{label}: {found[f'{key}_seconds']:.1f} s (reconcile {found[key]['seconds']:.1f} s)", flush=True)

    if cold and not drop_page_cache():
        raise SystemExit("--cold needs root (writes /proc/sys/vm/drop_caches)")
    sync("first", "First sync (an empty inventory)")
    assert found["first"].get("space") == "queued", found["first"]
    started = time.perf_counter()
    tasks.measure_storage()  # the task the first sync queued, as a worker runs it after the sync
    found["space_seconds"] = time.perf_counter() - started
    print(f"Space figures (their own task): {found['space_seconds']:.1f} s", flush=True)
    sync("unchanged", "Sync with nothing changed, page cache warm")
    assert "space" not in found["unchanged"], found["unchanged"]  # fresh figures: nothing queued
    if cold:
        drop_page_cache()
        sync("unchanged_cold", "Sync with nothing changed, page cache emptied")
    peak, current = _rss_mb()
    found.update(rss_peak=peak, rss_now=current)
    return found


def tasks_sync_job() -> dict[str, Any]:
    """One sync job as the worker runs it; its result."""
    from inventory.tasks import run_sync
    from jobs.models import Job

    job = Job.objects.create(kind=Job.Kind.SYNC, status=Job.Status.QUEUED, params={"reason": "benchmark"})
    run_sync(job.pk)
    job.refresh_from_db()
    if job.status != Job.Status.SUCCEEDED:
        raise SystemExit(f"The sync job {job.status}: {job.error}")
    for line in job.output.splitlines():
        print(f"    {line}", flush=True)
    return dict(job.result or {})


def web_role(environ: dict[str, str], runs: int, tags: int) -> dict[str, Any]:
    """The web half, in a process of its own: pages and API from the inventory, every registry
    request they make counted (there should be none)."""
    setup_django(environ)
    from django.test.utils import override_settings

    asked = count_registry_requests()
    client = logged_in_client()

    def get(path: str, **params: str) -> bytes:
        return get_ok(client, path, **params)

    def all_rows() -> None:
        rows = 0
        for page in range(1, (tags + 999) // 1000 + 1):
            body = json.loads(get(f"/api/v1/repositories/{BIG}/tags/", page_size="1000", page=str(page)))
            rows += len(body["results"])
        assert rows == tags, rows

    with override_settings(STORAGES=STORAGES):
        get("/catalog/")  # the first request imports the templates and opens the database
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
    peak, current = _rss_mb()
    return {
        "medians": {key: statistics.median(values) for key, values in figures.items()},
        "html_bytes": html_bytes,
        "asked": asked,
        "rss_peak": peak,
        "rss_now": current,
    }


def in_process(function: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """``function(*args)`` in a fresh Python process (spawned, not forked: its memory is its own)."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.inventory", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each page and API timing (median reported)")
    parser.add_argument("--raw-runs", type=int, default=3, help="timed runs of the raw client, after one to warm up")
    parser.add_argument("--tags", type=int, default=5000)
    parser.add_argument("--repositories", type=int, default=10000)
    parser.add_argument("--seed-dir", default=str(SEED_DIR), help="where the seeded registry's data is kept")
    parser.add_argument("--keep-database", metavar="PATH", help="copy the synced SQLite database there")
    parser.add_argument("--no-readme", action="store_true")
    parser.add_argument(
        "--files-only",
        action="store_true",
        help="only the syncs from the storage files beside ONE run of the raw client (no warm-up, no HTTP syncs, "
        "no pages): the ratio in about a quarter of the time; written under 'inventory-files-benchmark'",
    )
    parser.add_argument(
        "--cold",
        action="store_true",
        help="empty the page cache (root) before the raw client, before the first sync from the files and "
        "before one more unchanged sync",
    )
    parser.add_argument(
        "--files-syncs-only",
        action="store_true",
        help="the syncs from the storage files alone, no raw client (for quietbench: absolute seconds against "
        "the < 5 s target); prints, writes nothing",
    )
    args = parser.parse_args()
    if args.files_syncs_only:
        args.files_only, args.no_readme = True, True
    return with_services(_run, args)


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

    environ = services.environ()
    environ.pop("DATABASE_URL", None)
    data_dir = Path(tempfile.mkdtemp(prefix="bench-data-", dir=services.workdir))
    environ.update(
        {
            "REGISTRY_URL": url,
            "DATA_DIR": str(data_dir),
            "CATALOG_CONCURRENCY": "16",
            "REGISTRY_EVENTS_TOKEN": "",  # events off: the reconcile alone keeps the inventory
        }
    )
    session = raw_session()
    with LoadSampler() as load:
        print("Raw client ...", flush=True)
        load.phase = "raw client"
        if not args.files_only:
            raw_client_run(url, session)  # warm the registry's caches and our connections once
        if args.cold and not drop_page_cache():
            raise SystemExit("--cold needs root (writes /proc/sys/vm/drop_caches)")
        raw = (
            [float("nan")]
            if args.files_syncs_only
            else timed(lambda: raw_client_run(url, session), 1 if args.files_only else max(1, args.raw_runs))
        )
        print(f"Raw client: {[round(x, 2) for x in raw]} s", flush=True)
        worker: dict[str, Any] = {}
        if not args.files_only:
            load.phase = "syncs"
            worker = in_process(worker_role, environ)
        print("Syncs from the storage files ...", flush=True)
        load.phase = "file syncs"
        files_environ = {
            **environ,
            "DATA_DIR": tempfile.mkdtemp(prefix="bench-files-", dir=services.workdir),
            "REGISTRY_DATA_DIR": str(seed_dir / "data"),
        }
        from_files = in_process(files_role, files_environ, args.cold)
        worker["files"] = from_files
        web: dict[str, Any] = {}
        if not args.files_only:
            print("Pages and API ...", flush=True)
            load.phase = "pages"
            web = in_process(web_role, environ, args.runs, args.tags)
    if args.keep_database:
        shutil.copyfile(data_dir / "db.sqlite3", args.keep_database)
        print(f"Kept the database as {args.keep_database}")
    context = {
        "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(load.summary()),
        "registry": re.sub(r"^registry\s+", "", version),
        "seeded": seeded,
        "runs": args.runs,
        "raw_each": ", ".join(f"{x:.0f} s" for x in raw),
        "repositories": args.repositories,
        "tags": args.tags,
        "cold": args.cold,
    }
    if args.files_only:
        report, block = render_files_only(statistics.median(raw), from_files, context), "inventory-files-benchmark"
    else:
        report, block = render(statistics.median(raw), worker, web, context), "inventory-benchmark"
    print(report)
    if not args.no_readme:
        write_block(README, block, report)
        print(f"Wrote {README}")
    registry.remove()
    return 0


# The catalog's figures before the inventory, as issue 13 measured them on the same seed.
BEFORE = {"catalog": "16.6 s (cold)", "big": "13.3 s (every visit)"}


def verdict(ok: bool) -> str:
    return "pass" if ok else "**MISS**"


def files_rows(raw: float, files: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """The rows of the syncs from the storage files: first (ratio to the raw client: the sync job,
    inventory written), the space figures (their own task after it, not counted in the first sync),
    unchanged (warm, and with the page cache emptied when measured), RSS."""
    ratio = files["first_seconds"] / raw if raw == raw else float("nan")  # nan: no raw client in this run

    def unchanged(key: str, label: str) -> tuple[str, str, str, str, str]:
        result, seconds = files[key], files[f"{key}_seconds"]
        return (
            f"Sync from the storage files with nothing changed, {label}, 1 run "
            f"({result['requests']['total']:,} requests)",
            ms(seconds),
            "",
            "0 requests, < 5 s",
            verdict(result.get("source") == "files" and result["requests"]["total"] == 0 and seconds < 5),
        )

    rows = [
        (
            f"First sync from the storage files (REGISTRY_DATA_DIR): the sync job, inventory written, 1 run"
            f"{', page cache emptied before' if files.get('cold') else ''} "
            f"({files['first']['requests']['total']:,} requests: the sample check)",
            ms(files["first_seconds"]),
            "raw client",
            f"{ratio:.3f}x (≤ 0.10x)" if ratio == ratio else "no raw client in this run",
            verdict(files["first"].get("source") == "files" and ratio <= 0.1) if ratio == ratio else "",
        ),
        (
            "Space figures from the storage files: their own task, queued by the first sync, run after it "
            "(not counted above)",
            ms(files["space_seconds"]),
            "",
            "reported",
            "",
        ),
        unchanged("unchanged", "page cache warm"),
    ]
    if files.get("unchanged_cold_seconds") is not None:
        rows.append(unchanged("unchanged_cold", "page cache emptied before"))
    rows.append(
        (
            "Worker process RSS after the syncs from the files and the space figures (peak)",
            f"{files['rss_now']:,.0f} MB ({files['rss_peak']:,.0f} MB)",
            "",
            "< 250 MB",
            verdict(files["rss_peak"] < 250),
        )
    )
    return rows


def render_files_only(raw: float, files: dict[str, Any], context: dict[str, Any]) -> str:
    """``--files-only``: the syncs from the storage files beside one run of the raw client."""
    rows = [
        (
            "Raw client: catalog, tag lists, manifest + config per tag, 16 parallel (1 run, no warm-up"
            f"{', page cache emptied before' if context.get('cold') else ''})",
            ms(raw),
            "",
            "reference",
            "",
        ),
        *files_rows(raw, files),
    ]
    first, unchanged = files["first"], files["unchanged"]
    lines = [
        f"Run {context['when']} on {context['machine']}; registry {context['registry']}; "
        f"{context['repositories']:,} repositories and {context['tags']:,} tags (seed: {context['seeded']}); "
        f"`--files-only{' --cold' if context.get('cold') else ''}`. First sync: {first.get('seconds', 0):.1f} s "
        f"reconcile (the job: {files['first_seconds']:.1f} s), then the space figures' own task "
        f"{files['space_seconds']:.1f} s; unchanged: {unchanged.get('seconds', 0):.1f} s reconcile warm"
        + (
            f", {files['unchanged_cold'].get('seconds', 0):.1f} s with the page cache emptied."
            if files.get("unchanged_cold_seconds") is not None
            else "."
        ),
        "",
        "| Measurement | Time | Baseline | Ratio / target | Result |",
        "|---|---:|---|---|---|",
        *(f"| {' | '.join(row)} |" for row in rows),
    ]
    return "\n".join(lines)


def render(raw: float, worker: dict[str, Any], web: dict[str, Any], context: dict[str, Any]) -> str:
    medians = web["medians"]
    first, unchanged = worker["first"], worker["unchanged"]
    first_s, unchanged_s = worker["first_seconds"], worker["unchanged_seconds"]
    tags = f"{context['tags']:,}"
    asked = len(web["asked"])
    rows = [
        (
            f"Raw client: catalog, tag lists, manifest + config per tag, 16 parallel ({context['raw_each']})",
            ms(raw),
            "",
            "reference",
            "",
        ),
        (
            f"First sync of an empty inventory, 1 run ({first['requests']['total']:,} requests)",
            ms(first_s),
            "raw client",
            f"{first_s / raw:.2f}x (≤ 1.00x)",
            verdict(first_s <= raw),
        ),
        (
            f"Sync with nothing changed, 1 run ({unchanged['requests']['total']:,} requests: "
            f"{unchanged['requests']['tag_lists']:,} tag lists, {unchanged['requests']['head']:,} HEADs, "
            f"{unchanged['requests']['get']:,} GETs; events off, so every tag is HEADed)",
            ms(unchanged_s),
            "raw client",
            f"{unchanged_s / raw:.2f}x (reported)",
            "",
        ),
        *files_rows(raw, worker["files"]),
        (
            "Catalog first page, API",
            ms(medians["catalog_api"]),
            BEFORE["catalog"],
            "< 100 ms",
            verdict(medians["catalog_api"] < 0.1),
        ),
        (
            "Catalog first page, HTML",
            ms(medians["catalog_page"]),
            BEFORE["catalog"],
            "< 100 ms",
            verdict(medians["catalog_page"] < 0.1),
        ),
        ("Search, API", ms(medians["search_api"]), "", "< 150 ms", verdict(medians["search_api"] < 0.15)),
        ("Search, HTML", ms(medians["search_page"]), "", "< 150 ms", verdict(medians["search_page"] < 0.15)),
        (
            f"{tags}-tag repository, first page by created, HTML ({web['html_bytes'] / 1024:,.0f} KB)",
            ms(medians["big_page"]),
            BEFORE["big"],
            "< 150 ms",
            verdict(medians["big_page"] < 0.15),
        ),
        (
            f"{tags}-tag repository, first page by created, API",
            ms(medians["big_api"]),
            BEFORE["big"],
            "< 150 ms",
            verdict(medians["big_api"] < 0.15),
        ),
        (
            f"All {tags} rows through the API (pages of 1,000)",
            ms(medians["big_all"]),
            BEFORE["big"],
            "< 1 s",
            verdict(medians["big_all"] < 1),
        ),
        ("Registry requests made by all of the pages and API above", f"{asked}", "", "0", verdict(asked == 0)),
        (
            "Web process RSS after all of it (peak)",
            f"{web['rss_now']:,.0f} MB ({web['rss_peak']:,.0f} MB)",
            "",
            "< 250 MB",
            verdict(web["rss_peak"] < 250),
        ),
        (
            "Worker process RSS after both syncs (peak)",
            f"{worker['rss_now']:,.0f} MB ({worker['rss_peak']:,.0f} MB)",
            "",
            "< 250 MB",
            verdict(worker["rss_peak"] < 250),
        ),
    ]
    lines = [
        f"Run {context['when']} on {context['machine']}; registry {context['registry']}; "
        f"{context['repositories']:,} repositories and {tags} tags (seed: {context['seeded']}); "
        f"page timings are medians of {context['runs']} runs; CATALOG_CONCURRENCY=16.",
        "",
        "| Measurement | Median | Baseline | Ratio / target | Result |",
        "|---|---:|---|---|---|",
        *(f"| {' | '.join(row)} |" for row in rows),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
