"""Many rows in one prepared statement: new ones (``insert``, issue 24: the sync's manifests,
blobs and tags) and changed ones (``update``: the repositories' figures, the tags pushes move).

``QuerySet.bulk_create`` builds a model instance per row and compiles every value through the
ORM (at 10,000 repositories: 120,000 instances and 615,000 prepared values, a third of the first
sync from the storage files). Here each row is a tuple of the named fields; the other concrete
fields get their model default (``auto_now``/``auto_now_add`` fields: now), only the values
whose database form differs (JSON, dates) go through the field, and the database driver runs
the one statement over all rows (``executemany``). Conflicts are skipped when asked, as
``bulk_create(ignore_conflicts=True)`` does, with the backend's own syntax. ``bulk_update``
likewise builds a CASE expression per field over every row (30 s of Python for 10,000
repositories, benchmarks/README.md); ``update`` runs one ``UPDATE ... WHERE pk = %s`` per row.

Only the model's own table and column names are formatted into the SQL; values are parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from datetime import datetime
from itertools import chain
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
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
    prepare = _preparer(given)
    on_conflict = OnConflict.IGNORE if ignore_conflicts else None
    columns = [str(field.column) for field in [*given, *others]]
    on_conflict_fields: list[Any] = list(given)
    head = (
        f"{connection.ops.insert_statement(on_conflict=on_conflict)} {_quote(meta.db_table)} "
        f"({', '.join(_quote(column) for column in columns)}) VALUES "
    )
    suffix = connection.ops.on_conflict_suffix_sql(on_conflict_fields, on_conflict, None, None) or ""
    width = len(columns)
    limit = connection.features.max_query_params
    per_statement = max(1, min(batch_size, limit // width if limit else batch_size))
    row_sql = f"({', '.join(['%s'] * width)})"

    def statement(count: int) -> str:
        return f"{head}{', '.join([row_sql] * count)} {suffix}".rstrip()

    # Many rows per statement, not executemany: the sqlite3 module lets go of the GIL around each
    # statement it runs, and taking it back behind the threads reading the files cost 30-50 us
    # a row (benchmarks/README.md, storage-24e).
    full = statement(per_statement)

    def write(cursor: Any, batch: list[tuple[Any, ...]]) -> None:
        cursor.execute(full if len(batch) == per_statement else statement(len(batch)), list(chain.from_iterable(batch)))

    _in_batches((prepare(row) + fixed for row in rows), per_statement, write)


#: The conditions ``update`` may add to a row's ``pk = %s``, by lookup: the field compared with
#: the row's next value.
CONDITIONS = {
    "exact": "{column} = %s",
    "null_or_lte": "({column} IS NULL OR {column} <= %s)",
}


def update(
    model: type[models.Model],
    names: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    where: Sequence[str] = (),
    batch_size: int = 1000,
) -> None:
    """Set the fields ``names`` (a foreign key by its ``<name>_id``) of ``model``'s rows: each row
    is their values, then the primary key of the row to change, then a value for each condition
    of ``where`` (``"<field>__<lookup>"``, a lookup of ``CONDITIONS``: ``"event_at__null_or_lte"``
    changes the row only while its ``event_at`` is null or at most that value)."""
    meta = model._meta
    assert meta.pk is not None
    given = [_field(model, name) for name in names]
    guards: list[models.Field[Any, Any]] = []
    conditions = [f"{_quote(meta.pk.column)} = %s"]
    for condition in where:
        name, _, lookup = condition.rpartition("__")
        if lookup not in CONDITIONS:
            raise ValueError(f"{condition}: the lookup is not one of {', '.join(CONDITIONS)}")
        guards.append(_field(model, name))
        conditions.append(CONDITIONS[lookup].format(column=_quote(guards[-1].column)))
    fields = [*given, meta.pk, *guards]
    prepare = _preparer(fields)
    sql = (
        f"UPDATE {_quote(meta.db_table)} SET {', '.join(f'{_quote(field.column)} = %s' for field in given)} "  # noqa: S608
        f"WHERE {' AND '.join(conditions)}"
    )
    _execute(sql, (prepare(row) for row in rows), batch_size)


def ids_after(model: type[models.Model], key: str, after: int) -> dict[str, int]:
    """The ids of ``model``'s rows past id ``after``, by their ``key`` field (unique, no spaces:
    a digest), read as one row of text: the sqlite3 module lets go of the GIL for each row it
    steps through, and taking it back behind the threads reading the storage files made reading
    15,000 new ids back cost seconds (benchmarks/README.md, storage-24e). Rows that do not parse
    that way are read row by row."""
    meta = model._meta
    assert meta.pk is not None
    column, pk = _quote(_field(model, key).column), _quote(meta.pk.column)
    pair = f"CAST({pk} AS TEXT) || ' ' || {column}"
    aggregate = f"string_agg({pair}, ' ')" if connection.vendor == "postgresql" else f"group_concat({pair}, ' ')"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {aggregate} FROM {_quote(meta.db_table)} WHERE {pk} > %s", [after])  # noqa: S608
        row = cursor.fetchone()
    parts = row[0].split(" ") if row and row[0] else []
    try:
        if len(parts) % 2 == 0:
            return dict(zip(parts[1::2], map(int, parts[0::2]), strict=True))
    except ValueError:
        pass
    return dict(model._default_manager.filter(pk__gt=after).values_list(key, "pk"))


def _quote(name: str | None) -> str:
    return connection.ops.quote_name(str(name))


def _preparer(fields: Sequence[models.Field[Any, Any]]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """A row of values of ``fields`` in their database form (those in PLAIN as they are)."""
    width = len(fields)
    # Only the columns that need it are touched: a generator over every value of every row was
    # a fifth of the GIL's time in the first sync at 10,000 repositories (110,000 rows).
    steps = [
        (index, _value_preparer(field)) for index, field in enumerate(fields) if field.get_internal_type() not in PLAIN
    ]

    def prepare(row: Sequence[Any]) -> tuple[Any, ...]:
        if len(row) != width:
            raise ValueError(f"a row of {len(row)} values for {width} fields")
        if not steps:
            return tuple(row)
        values = list(row)
        for index, step in steps:
            values[index] = step(values[index])
        return tuple(values)

    return prepare


def _value_preparer(field: models.Field[Any, Any]) -> Callable[[Any], Any]:
    """The database form of one field's values. An aware datetime takes a shorter way than
    Django's (its checks, conversions and settings lookups took 2 s for 70,000 values of the
    first sync at 10,000 repositories) to the same form: the datetime itself on PostgreSQL,
    on SQLite the text of its naive time in the connection's time zone (``make_naive``, then
    ``str``); anything else goes through the field. ``test_bulk`` checks that both give the same."""
    aware: Callable[[datetime], Any] | None = None
    if field.get_internal_type() == "DateTimeField" and settings.USE_TZ:
        if connection.vendor == "postgresql":
            aware = lambda value: value  # noqa: E731
        elif connection.vendor == "sqlite":
            zone = connection.timezone
            aware = lambda value: str(value.astimezone(zone).replace(tzinfo=None))  # noqa: E731

    if aware is None:
        return lambda value: _prepare(field, value)

    def prepare(value: Any) -> Any:
        if isinstance(value, datetime) and value.utcoffset() is not None:
            return aware(value)
        return _prepare(field, value)

    return prepare


def _execute(sql: str, rows: Iterable[tuple[Any, ...]], batch_size: int) -> None:
    """``sql`` over ``rows``, ``batch_size`` rows at a time (the rows may be a generator)."""
    _in_batches(rows, batch_size, lambda cursor, batch: cursor.executemany(sql, batch))


def _in_batches(
    rows: Iterable[tuple[Any, ...]], size: int, write: Callable[[Any, list[tuple[Any, ...]]], None]
) -> None:
    """``write(cursor, batch)`` for each ``size`` rows (the last batch may be shorter), in one
    transaction (the caller's, if any): in autocommit, SQLite commits, and syncs its log, after
    every row of an ``executemany`` (10,000 repositories took 4.3 s of the first sync instead of 0.05 s)."""
    batch: list[tuple[Any, ...]] = []
    with nullcontext() if connection.in_atomic_block else transaction.atomic(), connection.cursor() as cursor:
        for row in rows:
            batch.append(row)
            if len(batch) >= size:
                write(cursor, batch)
                batch = []
        if batch:
            write(cursor, batch)


def _field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    field = model._meta.get_field(name.removesuffix("_id"))
    assert isinstance(field, models.Field), name  # a concrete field, not a relation's other side
    return field


def _default(field: models.Field[Any, Any], now: Any) -> Any:
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return now
    return field.get_default()


class JSONText(str):
    """A JSON document already serialised, for a JSON field: a manifest or a config as the
    registry stores it, written as it is (serialising 30,000 parsed documents again was a second
    of the first sync at 10,000 repositories). Its reader parses it as it would the serialised
    dict; ``json_text`` makes one only of text that parses the same way."""


def json_text(raw: bytes, fallback: Any) -> Any:
    """``raw`` as a JSONText when it is UTF-8 text without a byte-order mark (what a JSON field's
    reader parses), else ``fallback`` (the parsed document, serialised again on writing)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return fallback
    return JSONText(text) if text and not text.startswith("\ufeff") else fallback


def _prepare(field: models.Field[Any, Any], value: Any) -> Any:
    if isinstance(value, JSONText):
        if connection.vendor == "postgresql":
            from psycopg.types.json import Jsonb  # only on PostgreSQL

            return Jsonb(value, dumps=str)
        return str(value)
    return field.get_db_prep_save(value, connection)
