"""Many new rows in one prepared INSERT (issue 24): the sync's manifests, blobs and tags.

``QuerySet.bulk_create`` builds a model instance per row and compiles every value through the
ORM (at 10,000 repositories: 120,000 instances and 615,000 prepared values, a third of the first
sync from the storage files). Here each row is a tuple of the named fields; the other concrete
fields get their model default (``auto_now``/``auto_now_add`` fields: now), only the values
whose database form differs (JSON, dates) go through the field, and the database driver runs
the one statement over all rows (``executemany``). Conflicts are skipped when asked, as
``bulk_create(ignore_conflicts=True)`` does, with the backend's own syntax.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, models
from django.db.models.constants import OnConflict
from django.utils import timezone

#: Fields whose values reach the database as Python gives them (the driver adapts them).
PLAIN = {
    "AutoField",
    "BigAutoField",
    "BigIntegerField",
    "BooleanField",
    "CharField",
    "ForeignKey",
    "IntegerField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "SmallIntegerField",
    "TextField",
}


def insert(
    model: type[models.Model],
    names: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    ignore_conflicts: bool = False,
    batch_size: int = 1000,
) -> None:
    """Insert ``rows`` (tuples of the fields ``names``, a foreign key by its ``<name>_id``) into
    ``model``'s table; a row that conflicts with a unique constraint is skipped when ``ignore_conflicts``."""
    meta = model._meta
    given = [_field(model, name) for name in names]
    now = timezone.now()
    others = [
        field
        for field in meta.concrete_fields
        if field not in given and not isinstance(field, (models.AutoField, models.BigAutoField))
    ]
    fixed = tuple(_prepare(field, _default(field, now)) for field in others)
    plain = [field.get_internal_type() in PLAIN for field in given]
    on_conflict = OnConflict.IGNORE if ignore_conflicts else None
    columns = [str(field.column) for field in [*given, *others]]
    quote = connection.ops.quote_name
    on_conflict_fields: list[Any] = list(given)
    sql = " ".join(
        part
        for part in (
            connection.ops.insert_statement(on_conflict=on_conflict),
            f"{quote(meta.db_table)} ({', '.join(quote(column) for column in columns)})",
            f"VALUES ({', '.join(['%s'] * len(columns))})",
            connection.ops.on_conflict_suffix_sql(on_conflict_fields, on_conflict, None, None),
        )
        if part
    )
    batch: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        for row in rows:
            batch.append(
                tuple(
                    value if simple else _prepare(field, value)
                    for value, simple, field in zip(row, plain, given, strict=True)
                )
                + fixed
            )
            if len(batch) >= batch_size:
                cursor.executemany(sql, batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)


def _field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    field = model._meta.get_field(name.removesuffix("_id"))
    assert isinstance(field, models.Field), name  # a concrete field, not a relation's other side
    return field


def _default(field: models.Field[Any, Any], now: Any) -> Any:
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return now
    return field.get_default()


def _prepare(field: models.Field[Any, Any], value: Any) -> Any:
    return field.get_db_prep_save(value, connection)
