"""What the catalog's pages and API read: the inventory once it has synced, else the registry.

A new install has an empty inventory until its first sync ends (a worker starts one at once):
meanwhile the catalog asks the registry as before (``catalog.services``), and the pages say a
sync runs. Afterwards everything comes from the database (``catalog.stored``); a repository or
tag the inventory does not know yet (pushed since the last sync, with events off) is still
looked up in the registry rather than answered 404.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from django.core.paginator import Page, Paginator

from catalog import protection, services
from inventory import queries as stored
from inventory import sync
from registry_client import manifests
from registry_client.references import InvalidReference, validate_name

ORDERINGS = stored.orderings()


def from_inventory() -> bool:
    return sync.synced_once()


def repository_page(search: str, include_empty: bool, page: str | int | None, per_page: int) -> Page:
    """One page of repositories; from the inventory only that page's rows are read."""
    if from_inventory():
        current = Paginator(stored.repository_rows(search, include_empty), per_page).get_page(page)
        current.object_list = stored.as_repositories(current.object_list)  # type: ignore[assignment]
        return current
    return Paginator(services.list_repositories(search, include_empty), per_page).get_page(page)


@dataclass(frozen=True)
class TagTable:
    """One page of a repository's tag table, sorted and filtered across all its tags."""

    rows: list[services.TagRow]
    total: int  # image tags in the repository
    matched: int  # those the filter matches
    orphans: list[services.Attached]
    page: Page | None  # None when everything is on one page (the registry's path)


KINDS = manifests.KINDS


def validate_kind(kind: str) -> str:
    """ "" (every kind) or one of KINDS."""
    if kind and kind not in KINDS:
        raise InvalidReference(f"{kind!r} is not a kind: use one of {', '.join(KINDS)}.")
    return kind


def tag_table(name: str, search: str, ordering: str, page: str | int | None, per_page: int, kind: str = "") -> TagTable:
    validate_name(name)
    validate_kind(kind)
    if from_inventory() and stored.known_repository(name):
        paginator = Paginator(stored.image_tags(name, search, ordering, kind), per_page)
        current = paginator.get_page(page)
        return TagTable(
            rows=with_protection(name, stored.rows(name, list(current.object_list))),
            total=stored.tag_count(name) if search or kind else paginator.count,
            matched=paginator.count,
            orphans=stored.orphans(name),
            page=current,
        )
    listing = services.list_tags(name)
    needle = search.lower()
    rows = [row for row in listing.rows if needle in row.name.lower() and (not kind or row.kind == kind)]
    return TagTable(
        rows=with_protection(name, services.sort_rows(rows, ordering)),
        total=len(listing.rows),
        matched=len(rows),
        orphans=listing.orphans,
        page=None,
    )


def with_protection(name: str, rows: list[services.TagRow]) -> list[services.TagRow]:
    """The rows, each protected one naming its rule (``protected_by``): one query for the page."""
    found = protection.protected(name, [row.name for row in rows])
    return [replace(row, protected_by=found[row.name].describe()) if row.name in found else row for row in rows]


def tag_rows_for_api(name: str, ordering: str, kind: str = "") -> tuple[object, bool]:
    """(a queryset of the inventory's image tags, True) or (the registry's sorted rows, False)."""
    validate_name(name)
    validate_kind(kind)
    if from_inventory() and stored.known_repository(name):
        return stored.image_tags(name, "", ordering, kind), True
    # Every tag is looked up (through the caches), as the tag table does: which tags are rows
    # of their own is known only then (an artifact whose subject is tagged here is not one).
    rows = services.sort_rows(services.list_tags(name).rows, ordering)
    return [row for row in rows if not kind or row.kind == kind], False


def image_detail(name: str, reference: str) -> services.ImageDetail:
    if from_inventory():
        found = stored.image_detail(name, reference)
        if found is not None:
            return found
    return services.image_detail(name, reference)
