"""What the catalog's pages and API show: the inventory, read through ``inventory.queries``.

A repository, tag or digest the inventory does not know yet (pushed since the last sync with
events off, or not reached yet by the first sync) is read from the registry into the inventory
first (``inventory.sync.sync_repository``), then shown: 404 only when the registry does not
have it either. Until the first sync has finished the pages say so (``inventory/_freshness.html``)
and list what it has read so far.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet

from catalog import protection
from inventory import queries
from inventory.models import Repository as StoredRepository
from inventory.models import Tag
from inventory.types import Attached, ImageDetail, Repository, TagRow
from registry_client import manifests
from registry_client.client import RegistryNotFound
from registry_client.references import InvalidReference, is_digest, validate_name, validate_reference

ORDERINGS = queries.orderings()
KINDS = manifests.KINDS


@dataclass(frozen=True)
class Namespace:
    name: str
    repositories: list[Repository]


def group_by_namespace(repositories: Iterable[Repository]) -> list[Namespace]:
    groups: dict[str, list[Repository]] = {}
    for repo in repositories:
        groups.setdefault(repo.namespace, []).append(repo)
    return [Namespace(name, groups[name]) for name in sorted(groups)]


def repository_page(search: str, include_empty: bool, page: str | int | None, per_page: int) -> Page[Any]:
    """One page of repositories; only that page's rows are read.

    The page's ``object_list`` is replaced by the rows (``inventory.types.Repository``), while its
    paginator stays the models' one: no single type argument fits both, hence ``Page[Any]``.
    """
    current = Paginator(queries.repository_rows(search, include_empty), per_page).get_page(page)
    current.object_list = queries.as_repositories(current.object_list)  # type: ignore[assignment]
    return current


def repository_rows(search: str) -> QuerySet[StoredRepository]:
    """The API's repositories, to page; ``as_repositories`` turns a page into rows."""
    return queries.repository_rows(search)


as_repositories = queries.as_repositories


def repository_names() -> list[str]:
    """The repositories holding tags, by name (the Push here page's choices)."""
    return list(queries.repository_rows(include_empty=False).values_list("name", flat=True))


def validate_kind(kind: str) -> str:
    """ "" (every kind) or one of KINDS."""
    if kind and kind not in KINDS:
        raise InvalidReference(f"{kind!r} is not a kind: use one of {', '.join(KINDS)}.")
    return kind


def ensure_known(name: str) -> None:
    """Read repository ``name`` into the inventory if it does not know it; 404 when the registry
    does not have it either."""
    validate_name(name)
    if queries.known_repository(name):
        return
    # Imported only when the inventory lacks what a page asks for: the web process keeps the
    # sync machinery out otherwise (issue 28).
    from inventory import sync

    if not sync.sync_repository(name):
        raise RegistryNotFound(f"Repository {name} does not exist in the registry.")


@dataclass(frozen=True)
class TagTable:
    """One page of a repository's tag table, sorted and filtered across all its tags."""

    rows: list[TagRow]
    total: int  # image tags in the repository
    matched: int  # those the filter matches
    orphans: list[Attached]
    page: Page[Tag]


def tag_table(name: str, search: str, ordering: str, page: str | int | None, per_page: int, kind: str = "") -> TagTable:
    validate_kind(kind)
    ensure_known(name)
    paginator = Paginator(queries.image_tags(name, search, ordering, kind), per_page)
    current = paginator.get_page(page)
    return TagTable(
        rows=tag_rows(name, list(current.object_list)),
        total=queries.tag_count(name) if search or kind else paginator.count,
        matched=paginator.count,
        orphans=queries.orphans(name),
        page=current,
    )


def image_tags(name: str, ordering: str, kind: str = "") -> QuerySet[Tag]:
    """The API's tag list, sorted and filtered in the database, to page; ``tag_rows`` turns a page into rows."""
    validate_kind(kind)
    ensure_known(name)
    return queries.image_tags(name, "", ordering, kind)


def tag_rows(name: str, tags: list[Tag]) -> list[TagRow]:
    """Rows for tags of ``image_tags``, each protected one naming its rule (``protected_by``)."""
    rows = queries.rows(name, tags)
    found = protection.protected(name, [row.name for row in rows])
    return [replace(row, protected_by=found[row.name].describe()) if row.name in found else row for row in rows]


def image_detail(name: str, reference: str) -> ImageDetail:
    """The image page of a tag or a digest; read from the registry first when the inventory lacks it."""
    validate_name(name)
    validate_reference(reference)
    found = queries.image_detail(name, reference)
    if found is not None:
        return found
    from inventory import sync  # only now, as in ensure_known

    if not sync.sync_repository(name):
        raise RegistryNotFound(f"Repository {name} does not exist in the registry.")
    found = queries.image_detail(name, reference)
    if found is None and is_digest(reference) and sync.fetch_manifest(name, reference) is not None:
        # In the registry, yet no tag reaches it: an untagged manifest, shown by its digest.
        found = queries.image_detail(name, reference, present=True)
    if found is None:
        separator = "@" if is_digest(reference) else ":"
        raise RegistryNotFound(f"{name}{separator}{reference} does not exist in the registry.")
    return found
