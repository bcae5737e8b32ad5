"""``make benchmark``: the catalog's reads from the inventory against an optimal raw client, on the real test services.

Starts Redis, a private dockerd and the registry (testenv.start_all), seeds a repository of
300 tags and a catalog of 2,000 repositories through the raw v2 API, reads them into the
inventory once (``inventory.sync.reconcile``, events off), then measures, with the median of
several runs and the machine's load sampled throughout:

- an optimal raw client on the same registry: tags list, then manifest and config of every
  tag, 16 requests in parallel over one pooled session;
- the tag list API (``GET /api/v1/repositories/bench/big/tags/?page_size=1000``) and the
  repository's page (``/catalog/r/bench/big/``), read from the inventory;
- the catalog's first page (API and HTML) over the 2,000 repositories;
- the first visit of a repository the inventory does not know: ``bench/big`` and its content
  dropped from the inventory before each run, so the page reads it from the registry first
  (``inventory.sync.sync_repository``), against the raw client for that repository;
- every registry request the reads from the inventory make (the target is none).

Prints the figures with the ratios against the targets and writes them into
``benchmarks/README.md``. Not a test: nothing here asserts timings.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
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

BIG = "bench/big"
README = Path(__file__).with_name("README.md")


def raw_client_run(url: str, session: requests.Session, repository: str, parallel: int = 16) -> int:
    """What a hand-written client needs for sizes, dates and platforms: every manifest and config."""
    tags = fetch_pages(session, url, f"/v2/{repository}/tags/list", "tags")
    with ThreadPoolExecutor(parallel) as pool:
        return len(list(pool.map(lambda tag: fetch_manifest_and_config(session, url, repository, tag), tags)))


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (median reported)")
    parser.add_argument("--tags", type=int, default=300)
    parser.add_argument("--repositories", type=int, default=2000)
    parser.add_argument("--no-readme", action="store_true", help="print only, do not rewrite benchmarks/README.md")
    args = parser.parse_args()
    return with_services(_run, args)


def _run(services: Any, args: argparse.Namespace) -> int:
    url = services.registry_url
    started = time.perf_counter()
    seed_tags(url, BIG, args.tags)
    tags_seconds = time.perf_counter() - started
    started = time.perf_counter()
    seed_repositories(url, [f"bench/r{i:04d}" for i in range(args.repositories - 1)])
    repos_seconds = time.perf_counter() - started
    print(f"Seeded {args.tags} tags in {tags_seconds:.1f} s, {args.repositories} repositories in {repos_seconds:.1f} s")

    environ = services.environ()
    environ.pop("DATABASE_URL", None)
    environ["DATA_DIR"] = tempfile.mkdtemp(prefix="bench-data-", dir=services.workdir)
    environ["REGISTRY_EVENTS_TOKEN"] = ""  # events off: the sync alone fills the inventory
    setup_django(environ)
    from django.conf import settings
    from django.core.management import call_command
    from django.test.utils import override_settings

    from inventory import sync
    from inventory.models import Repository

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    sync.reconcile(log=lambda line: None)
    sync_seconds = time.perf_counter() - started
    print(f"First sync of the inventory: {sync_seconds:.1f} s", flush=True)

    asked = count_registry_requests()
    client = logged_in_client()

    def get(path: str, **params: str) -> Callable[[], bytes]:
        return lambda: get_ok(client, path, **params)

    def forget_big() -> None:
        """The inventory forgets ``bench/big``, its manifests and blobs: the next visit is its first."""
        Repository.objects.filter(name=BIG).delete()
        sync.prune_manifests()

    tag_list = get(f"/api/v1/repositories/{BIG}/tags/", page_size="1000")
    tag_page = get(f"/catalog/r/{BIG}/")
    catalog_api = get("/api/v1/repositories/")
    catalog_page = get("/catalog/")
    session = raw_session()
    runs = args.runs
    figures: dict[str, list[float]] = {}
    with LoadSampler() as load, override_settings(STORAGES=STORAGES):
        load.phase = "raw client"
        print("Raw client ...", flush=True)
        raw_client_run(url, session, BIG)  # warm the registry's own caches and our connections once
        figures["raw"] = timed(lambda: raw_client_run(url, session, BIG), runs)
        load.phase = "inventory reads"
        print("Reads from the inventory ...", flush=True)
        for warm_up in (tag_list, tag_page, catalog_api, catalog_page):
            warm_up()  # the first request imports the templates and opens the database
        asked.clear()
        figures["tag_list"] = timed(tag_list, runs)
        figures["tag_page"] = timed(tag_page, runs)
        figures["catalog_api"] = timed(catalog_api, runs)
        figures["catalog_page"] = timed(catalog_page, runs)
        inventory_asked = len(asked)
        load.phase = "first visit"
        print("First visits of an unknown repository ...", flush=True)
        asked.clear()
        figures["first_visit"] = timed(tag_page, runs, before=forget_big)
        first_visit_asked = len(asked) // runs
    medians = {key: statistics.median(values) for key, values in figures.items()}
    context = {
        "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(load.summary()),
        "runs": runs,
        "tags": args.tags,
        "repositories": args.repositories,
        "concurrency": settings.CATALOG_CONCURRENCY,
        "seed": f"{tags_seconds:.1f} s for the tags, {repos_seconds:.1f} s for the repositories",
        "sync": f"{sync_seconds:.1f} s",
        "inventory_asked": inventory_asked,
        "first_visit_asked": first_visit_asked,
        "raw_each": ", ".join(f"{x * 1000:,.0f}" for x in figures["raw"]),
    }
    report, met = render(medians, context)
    print(report)
    if not args.no_readme:
        write_block(README, "catalog-benchmark", report)
        print(f"Wrote {README}")
    return 0 if met else 1


def render(medians: dict[str, float], context: dict[str, Any]) -> tuple[str, bool]:
    """The README block and whether every target was met."""
    raw = medians["raw"]
    verdicts = {
        "tag_list": medians["tag_list"] <= 0.25 * raw,
        "tag_page": medians["tag_page"] < 0.15,
        "catalog_api": medians["catalog_api"] < 0.1,
        "catalog_page": medians["catalog_page"] < 0.1,
        "first_visit": medians["first_visit"] <= 1.5 * raw,
        "asked": context["inventory_asked"] == 0,
    }
    ok = {True: "met", False: "**MISSED**"}
    tags = context["tags"]
    rows = [
        (
            f"Raw client: tags list + manifest + config per tag, 16 parallel ({context['raw_each']} ms)",
            ms(raw),
            "1.00x",
            "reference",
        ),
        (
            f"Tag list API, {tags} tags in one page of 1,000, from the inventory",
            ms(medians["tag_list"]),
            f"{medians['tag_list'] / raw:.2f}x",
            f"≤ 0.25x raw: {ok[verdicts['tag_list']]}",
        ),
        (
            f"Repository page HTML ({tags} tags), from the inventory",
            ms(medians["tag_page"]),
            f"{medians['tag_page'] / raw:.2f}x",
            f"< 150 ms: {ok[verdicts['tag_page']]}",
        ),
        (
            f"Catalog API first page ({context['repositories']:,} repositories)",
            ms(medians["catalog_api"]),
            "",
            f"< 100 ms: {ok[verdicts['catalog_api']]}",
        ),
        (
            f"Catalog HTML page ({context['repositories']:,} repositories)",
            ms(medians["catalog_page"]),
            "",
            f"< 100 ms: {ok[verdicts['catalog_page']]}",
        ),
        (
            "Registry requests made by all of the reads above",
            str(context["inventory_asked"]),
            "",
            f"0: {ok[verdicts['asked']]}",
        ),
        (
            f"First visit of a repository the inventory does not know ({tags} tags read into it on demand, "
            f"{context['first_visit_asked']:,} registry requests)",
            ms(medians["first_visit"]),
            f"{medians['first_visit'] / raw:.2f}x",
            f"≤ 1.5x raw: {ok[verdicts['first_visit']]}",
        ),
    ]
    lines = [
        f"Run {context['when']} on {context['machine']}; median of {context['runs']} runs; "
        f"{tags} tags, {context['repositories']:,} repositories; CATALOG_CONCURRENCY={context['concurrency']}; "
        f"seeding took {context['seed']}, the first sync of the inventory {context['sync']}.",
        "",
        "| Measurement | Median | vs raw | Target |",
        "|---|---:|---:|---|",
        *(f"| {name} | {median} | {ratio} | {target} |" for name, median, ratio, target in rows),
    ]
    return "\n".join(lines), all(verdicts.values())


if __name__ == "__main__":
    sys.exit(main())
