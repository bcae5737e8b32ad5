"""``make benchmark-retention``: a retention policy's preview over a 5,000-tag repository and over
10,000 repositories (issue 14), against the raw SQL read of the same inventory rows.

The preview reads only the inventory (and asks the registry one harmless DELETE to learn whether
it deletes tags alone; here that answer is given, so no registry runs). The inventory is filled
directly in a fresh SQLite database, as a sync would leave it: every tag its own image manifest
(a config blob of its own and a layer shared by all), push and creation dates spread over a year.

Measured, medians of several runs:

- the baseline: one raw SQL query reading the rows the plan needs (tag name, digest, dates,
  attachment, subject) of the repositories the policy selects;
- the preview: ``retention.plan.build`` (globs, keep rules, protected tags, shared digests,
  attached artifacts, the bytes a GC would free across the whole inventory) and its JSON, what
  ``POST /api/v1/retention-policies/{id}/preview/`` answers.

Prints the figures and writes them into ``benchmarks/README.md`` under "Retention". Not a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

README = Path(__file__).with_name("README.md")
MARK_START = "<!-- retention-benchmark -->"
MARK_END = "<!-- /retention-benchmark -->"
TARGET_SECONDS = 2.0


def timed(function: Callable[[], Any], runs: int) -> list[float]:
    found = []
    for _ in range(runs):
        began = time.perf_counter()
        function()
        found.append(time.perf_counter() - began)
    return found


def fill(repositories: int, tags_per_repository: int, big_tags: int) -> None:
    """The inventory as a sync leaves it: ``bench/big`` with ``big_tags`` tags, then the many repositories."""
    from django.db import transaction

    from inventory.models import Blob, Manifest, ManifestBlob, Repository, Tag

    now = dt.datetime.now(dt.UTC)
    shared = Blob.objects.create(digest="sha256:" + "f" * 64, size=30_000_000, media_type="layer")
    counter = 0

    def images(repo: Repository, count: int) -> None:
        nonlocal counter
        blobs, manifests = [], []
        for i in range(count):
            counter += 1
            blobs.append(Blob(digest=f"sha256:{counter:064x}", size=1_000 + i, media_type="config"))
            manifests.append(
                Manifest(
                    digest=f"sha256:{counter + 10**9:064x}",
                    media_type="application/vnd.oci.image.manifest.v1+json",
                    kind="image",
                    size=30_001_000 + i,
                    created=now - dt.timedelta(hours=(i * 7919) % 8760),
                )
            )
        Blob.objects.bulk_create(blobs, batch_size=2000)
        Manifest.objects.bulk_create(manifests, batch_size=2000)
        ids = dict(Manifest.objects.filter(digest__in=[m.digest for m in manifests]).values_list("digest", "id"))
        blob_ids = dict(Blob.objects.filter(digest__in=[b.digest for b in blobs]).values_list("digest", "id"))
        links, tags = [], []
        for i, (blob, manifest) in enumerate(zip(blobs, manifests, strict=True)):
            manifest_id = ids[manifest.digest]
            links.append(ManifestBlob(manifest_id=manifest_id, blob_id=blob_ids[blob.digest], position=0))
            links.append(ManifestBlob(manifest_id=manifest_id, blob_id=shared.pk, position=1))
            tags.append(
                Tag(
                    repository=repo,
                    name=f"build-{i}",
                    digest=manifest.digest,
                    manifest_id=manifest_id,
                    size=manifest.size,
                    created=manifest.created,
                    pushed_at=now - dt.timedelta(hours=(i * 104729) % 8760),
                )
            )
        ManifestBlob.objects.bulk_create(links, batch_size=2000)
        Tag.objects.bulk_create(tags, batch_size=2000)

    with transaction.atomic():
        images(Repository.objects.create(name="bench/big"), big_tags)
    for start in range(0, repositories, 1000):
        with transaction.atomic():
            batch = [
                Repository(name=f"team-{n // 100:03d}/app-{n:05d}")
                for n in range(start, min(start + 1000, repositories))
            ]
            Repository.objects.bulk_create(batch)
            for repo in Repository.objects.filter(name__in=[r.name for r in batch]):
                images(repo, tags_per_repository)


def baseline(repo_ids: list[int] | None) -> Callable[[], int]:
    """The raw SQL read of the rows the plan needs, for the repositories given (all when None)."""
    from django.db import connection

    sql = (
        "SELECT t.repository_id, t.name, t.digest, t.manifest_id, t.created, t.pushed_at, t.last_pulled, "
        "t.attached_to, m.subject FROM inventory_tag t JOIN inventory_manifest m ON m.id = t.manifest_id"
    )
    params: list[int] = []
    if repo_ids is not None:
        sql += f" WHERE t.repository_id IN ({', '.join('%s' for _ in repo_ids)})"
        params = repo_ids

    def read() -> int:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return len(cursor.fetchall())

    return read


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.retention", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tags", type=int, default=5000, help="tags of the big repository")
    parser.add_argument("--repositories", type=int, default=10000)
    parser.add_argument("--per-repository", type=int, default=3, help="tags of each of the many repositories")
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args()

    os.environ.pop("DATABASE_URL", None)
    os.environ["DATA_DIR"] = tempfile.mkdtemp(prefix="bench-retention-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_admin.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    from catalog.models import ProtectedTag
    from inventory.models import Repository, Tag
    from retention import plan
    from retention.models import RetentionPolicy

    call_command("migrate", verbosity=0)
    print(f"Filling the inventory: 1 repository of {args.tags} tags, {args.repositories} of {args.per_repository} ...")
    began = time.perf_counter()
    fill(args.repositories, args.per_repository, args.tags)
    filled = time.perf_counter() - began
    total_tags = Tag.objects.count()
    print(f"Filled in {filled:.1f} s: {Repository.objects.count()} repositories, {total_tags} tags.", flush=True)
    ProtectedTag.objects.create(repositories="**", tags=r"^v?\d+\.\d+\.\d+$")

    big = RetentionPolicy.objects.create(
        name="big", repositories=["bench/big"], keep_last=100, keep_days=30, order_by="pushed", untagged=True
    )
    many = RetentionPolicy.objects.create(
        name="many", repositories=["team-*/**"], keep_last=1, order_by="created", untagged=True
    )
    big_id = list(Repository.objects.filter(name="bench/big").values_list("id", flat=True))

    def preview(policy: RetentionPolicy) -> Callable[[], plan.Plan]:
        def run() -> plan.Plan:
            found = plan.build(policy, deletes_tags=True)
            json.dumps(found.as_dict())
            return found

        return run

    rows = []
    for label, policy, repo_ids in (
        (f"1 repository of {args.tags:,} tags", big, big_id),
        (f"{args.repositories:,} repositories of {args.per_repository} tags", many, None),
    ):
        read = baseline(repo_ids)
        read()
        base = statistics.median(timed(read, args.runs))
        found = preview(policy)()
        measured = statistics.median(timed(preview(policy), args.runs))
        rows.append((label, found, base, measured))
        print(
            f"{label}: baseline {base * 1000:.0f} ms, preview {measured * 1000:.0f} ms "
            f"({found.tags} tags, {found.manifests} manifests, {found.bytes:,} bytes)",
            flush=True,
        )

    load = os.getloadavg()[0]
    lines = [
        MARK_START,
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, {os.cpu_count()} CPUs "
        f"(load average {load:.1f}), Python {platform.python_version()}, SQLite; inventory filled in "
        f"{filled:.0f} s ({total_tags:,} tags); medians of {args.runs} runs.",
        "",
        "| Preview of | Deletes | Raw SQL read of its rows | Preview (plan + JSON) | Target |",
        "|---|---|---:|---:|---|",
    ]
    for label, found, base, measured in rows:
        verdict = "met" if measured < TARGET_SECONDS else "MISSED"
        lines.append(
            f"| {label} | {found.tags:,} tags, {found.manifests:,} manifests, {found.bytes:,} bytes | "
            f"{base * 1000:,.0f} ms | {measured * 1000:,.0f} ms ({measured / base:.0f}x) | < 2 s: {verdict} |"
        )
    lines.append(MARK_END)
    block = "\n".join(lines)
    print(block)
    if not args.no_readme:
        text = README.read_text()
        if MARK_START in text:
            text = re.sub(re.escape(MARK_START) + ".*?" + re.escape(MARK_END), lambda _: block, text, flags=re.S)
        else:
            text += f"\n## Retention (issue 14)\n\n{INTRO}\n\n{block}\n"
        README.write_text(text)
    return 0 if all(measured < TARGET_SECONDS for *_, measured in rows) else 1


INTRO = """`make benchmark-retention` (`python -m benchmarks.retention`) fills the inventory directly in a
fresh SQLite database (the preview reads only the inventory; the registry's one answer it needs,
whether it deletes tags alone, is given as registry:3's), then times a policy's preview, plan and
JSON, against the raw SQL read of the same rows, medians of 5 runs. Scenarios: `bench/big` with
5,000 tags (keep the last 100 by push time or those pushed within 30 days, with `untagged`), and
10,000 repositories of 3 tags under `team-*/` (keep the last one by creation date). Every tag has
its own manifest with its own config blob and a layer all share, so the bytes a GC would free are
computed over the whole inventory. One protected-tag rule is in place."""


if __name__ == "__main__":
    sys.exit(main())
