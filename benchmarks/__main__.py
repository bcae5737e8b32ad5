"""``make benchmark``: the catalog's speed against an optimal raw client, on the real test services.

Starts Redis, a private dockerd and the registry (testenv.start_all), seeds a repository of
300 tags and a catalog of 2,000 repositories through the raw v2 API, then measures, with
the median of several runs:

- the tag list API (``GET /api/v1/repositories/bench/big/tags/?page_size=1000``) cold (the
  catalog's cache keys deleted before each run) and warm;
- an optimal raw client on the same registry: tags list, then manifest and config of every
  tag, 16 requests in parallel over one pooled session;
- the catalog's first page warm (API and HTML page).

Prints the figures with the ratios against the issue's targets and writes them into
``benchmarks/README.md``. Not a test: nothing here asserts timings.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from benchmarks.helpers import (
    STORAGES,
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


def forget_catalog_cache(redis_url: str) -> None:
    """Delete only the catalog's keys (Redis DB 0 also holds Celery's queues: never FLUSHDB)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter("*catalog:v1:*", count=1000):
        client.delete(key)
    client.close()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (median reported)")
    parser.add_argument("--tags", type=int, default=300)
    parser.add_argument("--repositories", type=int, default=2000)
    parser.add_argument("--no-readme", action="store_true", help="print only, do not rewrite benchmarks/README.md")
    args = parser.parse_args()
    return with_services(_run, args)


def _run(services: object, args: argparse.Namespace) -> int:
    url = services.registry_url  # type: ignore[attr-defined]
    started = time.perf_counter()
    seed_tags(url, BIG, args.tags)
    tags_seconds = time.perf_counter() - started
    started = time.perf_counter()
    seed_repositories(url, [f"bench/r{i:04d}" for i in range(args.repositories - 1)])
    repos_seconds = time.perf_counter() - started
    print(f"Seeded {args.tags} tags in {tags_seconds:.1f} s, {args.repositories} repositories in {repos_seconds:.1f} s")

    environ = services.environ()  # type: ignore[attr-defined]
    environ.pop("DATABASE_URL", None)
    environ["DATA_DIR"] = tempfile.mkdtemp(prefix="bench-data-", dir=services.workdir)  # type: ignore[attr-defined]
    setup_django(environ)
    from django.conf import settings
    from django.core.management import call_command
    from django.test.utils import override_settings

    call_command("migrate", verbosity=0)
    client = logged_in_client()
    redis_url = services.redis_url  # type: ignore[attr-defined]

    def api(path: str, **params: str) -> None:
        get_ok(client, path, **params)

    tag_list = f"/api/v1/repositories/{BIG}/tags/"
    session = raw_session()
    runs = args.runs
    with override_settings(STORAGES=STORAGES):
        raw_client_run(url, session, BIG)  # warm the registry's own caches and our connections once
        raw = timed(lambda: raw_client_run(url, session, BIG), runs)
        cold = timed(lambda: api(tag_list, page_size="1000"), runs, before=lambda: forget_catalog_cache(redis_url))
        api(tag_list, page_size="1000")
        warm = timed(lambda: api(tag_list, page_size="1000"), runs)
        catalog_cold = timed(lambda: api("/api/v1/repositories/"), 1, before=lambda: forget_catalog_cache(redis_url))
        catalog_api = timed(lambda: api("/api/v1/repositories/"), runs)
        catalog_page = timed(lambda: api("/catalog/"), runs)
        with override_settings(CATALOG_TAG_TTL=0):  # tags re-resolved, content by digest cached
            expired = timed(lambda: api(tag_list, page_size="1000"), runs)

    raw_m, cold_m, warm_m = (statistics.median(x) for x in (raw, cold, warm))
    figures = {
        "raw": raw_m,
        "cold": cold_m,
        "warm": warm_m,
        "expired": statistics.median(expired),
        "catalog_cold": catalog_cold[0],
        "catalog_api": statistics.median(catalog_api),
        "catalog_page": statistics.median(catalog_page),
    }
    verdicts = {
        "cold": cold_m <= 1.5 * raw_m,
        "warm": warm_m <= 0.25 * raw_m,
        "catalog": figures["catalog_api"] < 0.1 and figures["catalog_page"] < 0.1,
    }
    context = {
        "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(f"load average {os.getloadavg()[0]:.1f}"),
        "runs": runs,
        "tags": args.tags,
        "repositories": args.repositories,
        "concurrency": settings.CATALOG_CONCURRENCY,
        "tag_ttl": settings.CATALOG_TAG_TTL,
        "seed": f"{tags_seconds:.1f} s for the tags, {repos_seconds:.1f} s for the repositories",
    }
    report = render(figures, verdicts, context)
    print(report)
    if not args.no_readme:
        write_block(README, "catalog-benchmark", report)
        print(f"Wrote {README}")
    return 0 if all(verdicts.values()) else 1


def render(figures: dict[str, float], verdicts: dict[str, bool], context: dict[str, object]) -> str:
    raw = figures["raw"]
    ok = {True: "met", False: "MISSED"}
    rows = [
        ("Raw client: tags list + manifest + config per tag, 16 parallel", figures["raw"], "1.00x", "reference"),
        (
            "Tag list API, cold (catalog cache emptied)",
            figures["cold"],
            f"{figures['cold'] / raw:.2f}x",
            f"≤ 1.5x raw: {ok[verdicts['cold']]}",
        ),
        (
            "Tag list API, warm",
            figures["warm"],
            f"{figures['warm'] / raw:.2f}x",
            f"≤ 0.25x raw: {ok[verdicts['warm']]}",
        ),
        (
            "Tag list API, tag TTL expired (tags re-resolved, content cached)",
            figures["expired"],
            f"{figures['expired'] / raw:.2f}x",
            "informative",
        ),
        ("Catalog API first page, cold (2,000 tag counts)", figures["catalog_cold"], "", "informative (1 run)"),
        ("Catalog API first page, warm", figures["catalog_api"], "", f"< 100 ms: {ok[figures['catalog_api'] < 0.1]}"),
        ("Catalog HTML page, warm", figures["catalog_page"], "", f"< 100 ms: {ok[figures['catalog_page'] < 0.1]}"),
    ]
    lines = [
        f"Run {context['when']} on {context['machine']}; median of {context['runs']} runs; "
        f"{context['tags']} tags, {context['repositories']} repositories; CATALOG_CONCURRENCY="
        f"{context['concurrency']}, CATALOG_TAG_TTL={context['tag_ttl']}; seeding took {context['seed']}.",
        "",
        "| Measurement | Median | vs raw | Target |",
        "|---|---:|---:|---|",
        *(f"| {name} | {ms(seconds)} | {ratio} | {target} |" for name, seconds, ratio, target in rows),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
