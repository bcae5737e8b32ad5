"""The inventory's queries: what the catalog's pages and API show, read from the database.

No registry request here. Everything returns the rows of ``inventory.types``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Exists, F, OrderBy, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from inventory import attachments, types
from inventory.models import Event, Manifest, ManifestChild, Repository, Tag
from registry_client.references import REFERRERS, attached_to, is_digest

# Tag orderings the tables and the API offer; a leading "-" reverses.
ORDERINGS = ("name", "created", "pushed", "size", "pulled")
_COLUMNS = {"name": "name", "created": "created", "pushed": "pushed_at", "size": "size", "pulled": "last_pulled"}


# The fields ``rows`` reads of a tag and its manifest.
ROW_FIELDS = (
    "name",
    "digest",
    "pushed_at",
    "last_pulled",
    *(
        f"manifest__{field}"
        for field in ("digest", "media_type", "size", "created", "platforms", "kind", "artifact_type", "pull_count")
    ),
)


def orderings() -> tuple[str, ...]:
    return tuple(o for name in ORDERINGS for o in (name, f"-{name}"))


def repository_rows(search: str = "", include_empty: bool = True) -> QuerySet[Repository]:
    """Repositories by name with their tag counts, filtered in the database (page it, then ``as_repositories``).

    The counts are subqueries, so the database counts the tags of the page's rows only (a
    join and GROUP BY counted all 10,000 repositories' tags for every page).
    """
    tags = Tag.objects.filter(repository=OuterRef("pk")).order_by()
    counted = tags.values("repository").annotate(n=Count("pk")).values("n")
    found = Repository.objects.annotate(tag_count=Coalesce(Subquery(counted), 0)).order_by("name")
    needle = search.strip().lower()
    if needle:
        found = found.filter(name__contains=needle)
    if not include_empty:
        found = found.filter(Exists(tags))
    return found.only("name", "last_pushed", "pull_count", "size")


def as_repositories(rows: Iterable[Repository]) -> list[types.Repository]:
    return [
        types.Repository(
            name=row.name,
            tag_count=row.tag_count,  # type: ignore[attr-defined]
            last_pushed=row.last_pushed,
            pull_count=row.pull_count,
            size=row.size,
        )
        for row in rows
    ]


def known_repository(name: str) -> bool:
    return Repository.objects.filter(name=name).exists()


def image_tags(name: str, search: str = "", ordering: str = "name", kind: str = "") -> QuerySet[Tag]:
    """The repository's image tags (signature tags left out), filtered (by name, by their
    manifest's kind) and ordered in the database."""
    key = ordering.lstrip("-")
    column = _COLUMNS.get(key, "name")
    descending = ordering.startswith("-")
    tags = image_rows(name)
    if search.strip():
        tags = tags.filter(name__icontains=search.strip())
    if kind:
        tags = tags.filter(manifest__kind=kind)
    order: OrderBy = F(column).desc(nulls_last=True) if descending else F(column).asc(nulls_last=True)
    # Only what the rows show: a manifest's body and config are JSON to decode per row.
    return tags.select_related("manifest").only(*ROW_FIELDS).order_by(order, "name")


def image_rows(name: str) -> QuerySet[Tag]:
    """The repository's tags that are rows of their own: not a cosign-style or referrers tag, not
    a manifest whose ``subject`` is tagged here (those are listed with their subject)."""
    tags = Tag.objects.filter(repository__name=name)
    subjects = tags.values("digest")
    return tags.filter(attached_to="").exclude(~Q(manifest__subject="") & Q(manifest__subject__in=subjects))


def tag_count(name: str) -> int:
    return image_rows(name).count()


def _attached_tags(name: str) -> list[tuple[str, str, int]]:
    """The repository's cosign-style and referrers tags, ``(tag, subject digest, manifest id)`` by
    tag name: few, so one read of them all beats looking up each row's digest."""
    return list(
        Tag.objects.filter(repository__name=name)
        .exclude(attached_to="")
        .order_by("name")
        .values_list("name", "attached_to", "manifest_id")
    )


def referrers(
    name: str, digests: Iterable[str], attached_tags: list[tuple[str, str, int]] | None = None
) -> dict[str, list[types.Referrer]]:
    """Per subject digest the artifacts attached to it in repository ``name``: its sig/att/sbom
    tags, the entries of its referrers index tag, tagged manifests naming it as ``subject``, and
    manifests pushed by digest naming it (``inventory.attachments``, known from their push event).

    ``attached_tags`` is ``_attached_tags(name)`` when the caller has read it already. A
    repository without any (the usual case) costs one indexed lookup of the subjects.
    """
    wanted = set(digests)
    found: dict[str, dict[str, types.Referrer]] = {}

    def add(subject: str, manifest: Manifest, tag: str = "") -> None:
        found.setdefault(subject, {}).setdefault(
            manifest.digest,
            types.Referrer(
                digest=manifest.digest,
                kind=manifest.kind,
                artifact_type=manifest.artifact_type,
                size=manifest.size,
                created=manifest.created,
                tag=tag,
            ),
        )

    figures = ("digest", "kind", "artifact_type", "size", "created", "subject")
    tagged = [row for row in (attached_tags if attached_tags is not None else _attached_tags(name)) if row[1] in wanted]
    by_id = Manifest.objects.only(*figures).in_bulk({manifest_id for _, _, manifest_id in tagged})
    indexes: dict[int, str] = {}
    for tag, subject, manifest_id in tagged:
        manifest = by_id[manifest_id]
        if manifest.kind == Manifest.Kind.INDEX and _suffix(tag) == REFERRERS:
            indexes[manifest_id] = subject
        else:
            add(subject, manifest, tag)
    if indexes:
        links = list(ManifestChild.objects.filter(parent_id__in=list(indexes), platform="").order_by("position"))
        children = {m.digest: m for m in Manifest.objects.only(*figures).filter(digest__in=[x.digest for x in links])}
        for link in links:
            if link.digest in children:
                add(indexes[link.parent_id], children[link.digest])
    # Manifests naming one of the digests as their subject: an indexed lookup, usually empty.
    subjects = list(Manifest.objects.filter(subject__in=wanted).values_list("id", flat=True)) if wanted else []
    if subjects:
        for row in (
            Tag.objects.filter(repository__name=name, attached_to="", manifest_id__in=subjects)
            .select_related("manifest")
            .order_by("name")
        ):
            add(row.manifest.subject, row.manifest, row.name)
    for subject, attached in attachments.of_subjects(name, wanted).items():
        for manifest in attached:
            add(subject, manifest)
    return {subject: list(items.values()) for subject, items in found.items()}


def rows(name: str, tags: list[Tag]) -> list[types.TagRow]:
    """Table rows for tags of ``image_tags``, with their signature tags attached."""
    digests = {tag.digest for tag in tags}
    attached_tags = _attached_tags(name)
    attached: dict[str, list[types.Attached]] = {}
    for tag, subject, _ in attached_tags:
        if subject in digests:
            attached.setdefault(subject, []).append(types.Attached(tag=tag, kind=_suffix(tag)))
    attached_artifacts = referrers(name, digests, attached_tags)
    return [
        types.TagRow(
            name=tag.name,
            summary=summary(tag.manifest, with_children=False),
            attached=tuple(attached.get(tag.digest, ())),
            referrers=tuple(attached_artifacts.get(tag.digest, ())),
            pushed=tag.pushed_at,
            last_pulled=tag.last_pulled,
            pull_count=tag.manifest.pull_count,
        )
        for tag in tags
    ]


def orphans(name: str) -> list[types.Attached]:
    """Signature tags whose image has no tag in the repository."""
    attached_tags = _attached_tags(name)
    subjects = {subject for _, subject, _ in attached_tags}
    present = set(
        Tag.objects.filter(repository__name=name, attached_to="", digest__in=subjects).values_list("digest", flat=True)
    )
    return [types.Attached(tag=tag, kind=_suffix(tag)) for tag, subject, _ in attached_tags if subject not in present]


def summary(manifest: Manifest, with_children: bool = True) -> types.ContentSummary:
    children: tuple[types.PlatformImage, ...] = ()
    if with_children and manifest.kind == Manifest.Kind.INDEX:
        links = list(ManifestChild.objects.filter(parent=manifest).exclude(platform="").order_by("position"))
        found = {m.digest: m for m in Manifest.objects.filter(digest__in=[link.digest for link in links])}
        children = tuple(
            types.PlatformImage(
                platform=link.platform,
                digest=link.digest,
                size=found[link.digest].size,
                media_type=found[link.digest].media_type,
            )
            for link in links
            if link.digest in found
        )
    return types.ContentSummary(
        digest=manifest.digest,
        media_type=manifest.media_type,
        size=manifest.size,
        created=manifest.created,
        platforms=tuple(manifest.platforms or ()),
        children=children,
        classified=manifest.kind,
        artifact_type=manifest.artifact_type,
        subject=manifest.subject,
    )


@dataclass(frozen=True)
class Found:
    manifest: Manifest
    tag: Tag | None


def find(name: str, reference: str, present: bool = False) -> Found | None:
    """The inventory's manifest of ``name:reference`` (a tag, or a digest a tag or tagged index of
    the repository reaches, or any digest when the registry has just confirmed it is ``present``
    there); None when the inventory does not know it."""
    if not is_digest(reference):
        tag = Tag.objects.select_related("manifest").filter(repository__name=name, name=reference).first()
        return Found(tag.manifest, tag) if tag is not None else None
    manifest = Manifest.objects.filter(digest=reference).first()
    if manifest is None:
        return None
    if present:
        return Found(manifest, None)
    tags = Tag.objects.filter(repository__name=name)
    reached = (
        tags.filter(digest=reference).exists()
        or ManifestChild.objects.filter(digest=reference, parent__tags__in=tags).exists()
        or attachments.is_attached(name, reference)
    )
    return Found(manifest, None) if reached else None


def image_detail(name: str, reference: str, present: bool = False) -> types.ImageDetail | None:
    found = find(name, reference, present)
    if found is None:
        return None
    manifest = found.manifest
    body = manifest.body or {}
    config = types.ImageConfig.from_blob(manifest.config) if manifest.kind == "image" and manifest.config else None
    chart = types.HelmChart.from_config(manifest.config) if manifest.kind == Manifest.Kind.HELM_CHART else None
    attached = [
        types.Attached(tag=tag, kind=_suffix(tag))
        for tag in Tag.objects.filter(repository__name=name, attached_to=manifest.digest)
        .order_by("name")
        .values_list("name", flat=True)
    ]
    return types.ImageDetail(
        repository=name,
        reference=reference,
        tag=None if is_digest(reference) else reference,
        summary=summary(manifest),
        layers=tuple(
            types.Layer(
                digest=str(d.get("digest", "")), size=int(d.get("size") or 0), media_type=str(d.get("mediaType", ""))
            )
            for d in body.get("layers") or []
            if isinstance(d, dict)
        ),
        config_digest=manifest.config_digest,
        config=config,
        attached=tuple(attached),
        annotations={str(k): str(v) for k, v in (body.get("annotations") or {}).items()},
        pushed=found.tag.pushed_at if found.tag else None,
        last_pulled=found.tag.last_pulled if found.tag else manifest.last_pulled,
        pull_count=manifest.pull_count,
        chart=chart,
        referrers=tuple(referrers(name, [manifest.digest]).get(manifest.digest, ())),
    )


def _suffix(tag: str) -> str:
    found = attached_to(tag)
    return found[1] if found else ""


def is_live(window: timedelta = timedelta(minutes=10)) -> bool:
    """Events on and one received recently: the pages say "live"."""
    if not settings.REGISTRY_EVENTS_TOKEN:
        return False
    return Event.objects.filter(received_at__gte=timezone.now() - window).exists()


def last_received() -> datetime | None:
    latest = Event.objects.order_by("-received_at").values_list("received_at", flat=True).first()
    return latest
