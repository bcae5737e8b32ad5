"""A locked or full SQLite database: a clear 503 naming the cause, no traceback, nothing half-written.

Both faults are real SQLite errors on the test database: "full" through ``PRAGMA
max_page_count`` (SQLITE_FULL, what a full NAS volume gives), "locked" through a second
connection holding the write transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from unittest.mock import patch

import pytest
from django.db import OperationalError, connection, transaction
from django.test import Client

from core.models import AuditEntry
from jobs.models import Job

pytestmark = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's own faults")


def counts() -> tuple[int, int]:
    return Job.objects.count(), AuditEntry.objects.count()


@pytest.fixture
def full_database(db: None) -> Iterator[None]:
    """No page left: jobs of shrinking size fill the database until even an empty one fails."""
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA page_count")
        cursor.execute(f"PRAGMA max_page_count = {cursor.fetchone()[0] + 8}")
    try:
        for size in (3000, 1000, 300, 100, 30, 0):
            for _ in range(1000):
                try:
                    with transaction.atomic():
                        Job.objects.create(kind=Job.Kind.STATS, output="x" * size)
                        AuditEntry.objects.create(action="filler", outcome="succeeded", detail="x" * size)
                except OperationalError as e:
                    assert "full" in str(e)
                    break
            else:
                pytest.fail("the database did not fill up")
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA max_page_count = 1073741823")


def test_a_full_database_answers_503_and_writes_nothing(full_database: None, operator_client: Client) -> None:
    before = counts()
    api = operator_client.post("/api/v1/stats/collect/")
    assert api.status_code == 503 and api["Content-Type"].startswith("application/json")
    assert "full" in api.json()["detail"] and "Nothing was changed" in api.json()["detail"]
    page = operator_client.post("/maintenance/gc/", {"mode": "read-only", "dry_run": "on"})
    assert page.status_code == 503
    html = page.content.decode()
    assert "disk holding DATA_DIR" in html and "Traceback" not in html
    assert counts() == before


@pytest.fixture
def locked_database(transactional_db: None) -> Iterator[None]:
    """Another connection (the worker, beat) holds the write transaction."""
    other = sqlite3.connect(connection.settings_dict["NAME"], uri=True, isolation_level=None, timeout=0.1)
    other.execute("BEGIN IMMEDIATE")
    other.execute("DELETE FROM maintenance_job WHERE 0")
    other.execute("DELETE FROM core_auditentry WHERE 0")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_a_locked_database_answers_503_and_writes_nothing(
    transactional_db: None, operator_client: Client, locked_database: None
) -> None:
    api = operator_client.post("/api/v1/stats/collect/")
    assert api.status_code == 503, api.content[:300]
    assert "busy" in api.json()["detail"] and "try again" in api.json()["detail"]
    page = operator_client.post("/maintenance/gc/", {"mode": "read-only", "dry_run": "on"})
    assert page.status_code == 503 and "busy" in page.content.decode()


def test_after_the_lock_goes_the_same_request_works(transactional_db: None, operator_client: Client) -> None:
    other = sqlite3.connect(connection.settings_dict["NAME"], uri=True, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("DELETE FROM maintenance_job WHERE 0")
    assert operator_client.post("/api/v1/stats/collect/").status_code == 503
    other.execute("ROLLBACK")
    other.close()
    assert Job.objects.count() == 0
    with patch("core.worker.send"):  # no worker in this test: what matters is that the write now succeeds
        assert operator_client.post("/api/v1/stats/collect/").status_code == 202
    assert Job.objects.count() == 1
