"""The database: SQLite (embedded default, WAL with a busy timeout) and PostgreSQL.

``make test`` runs the tests marked ``database`` a second time with
``TESTENV_DATABASE=postgres``: the test environment then starts a private PostgreSQL and
points ``DATABASE_URL`` at it (testenv/postgres.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.database
@pytest.mark.django_db
def test_the_database_is_the_one_the_run_asked_for() -> None:
    wanted = os.environ.get("TESTENV_DATABASE", "sqlite").lower()
    if wanted.startswith("postgres"):
        assert connection.vendor == "postgresql"
        assert os.environ["DATABASE_URL"].startswith("postgres://")
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            assert int(cursor.fetchone()[0].split(".")[0]) >= 13
    else:
        assert connection.vendor == "sqlite"


@pytest.mark.database
@pytest.mark.django_db(transaction=True)
def test_every_migration_applies_backwards_and_forwards_again() -> None:
    executor = MigrationExecutor(connection)
    assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []  # all applied
    for app in ("jobs", "maintenance", "core"):
        call_command("migrate", app, "zero", verbosity=0)
    call_command("migrate", verbosity=0)
    executor = MigrationExecutor(connection)
    assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []
    from django.contrib.auth.models import Group

    assert {"viewer", "operator", "admin"} <= set(Group.objects.values_list("name", flat=True))


def _sqlite_file(tmp_path: Path) -> dict[str, str]:
    """A migrated SQLite file, configured as the settings configure the embedded default."""
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", DATA_DIR=str(tmp_path))
    env.pop("TESTENV_DATABASE", None)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity=0"], cwd=ROOT, env=env, check=True, timeout=300
    )
    return env


def _start(role: str, count: int, env: dict[str, str], *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "maintenance.tests.sqlite_writer", role, str(count), *extra],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finish(processes: dict[str, subprocess.Popen[str]]) -> dict[str, tuple[int, str]]:
    return {
        role: (proc.wait(180), (proc.stdout.read() if proc.stdout else "").strip()) for role, proc in processes.items()
    }


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path: Path) -> None:
    env = _sqlite_file(tmp_path)
    probe = (
        "import django; django.setup(); from django.db import connection; c = connection.cursor(); "
        "c.execute('PRAGMA journal_mode'); print(c.fetchone()[0]); c.execute('PRAGMA busy_timeout'); "
        "print(c.fetchone()[0])"
    )
    env["DJANGO_SETTINGS_MODULE"] = "registry_admin.settings"
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.split() == ["wal", "20000"]


def test_web_worker_and_beat_writing_at_once_never_see_database_is_locked(tmp_path: Path) -> None:
    """Four processes write one SQLite file at once, one of them holding its write lock for
    1.5 s at a time (a long job update): with the project's options every write waits its turn."""
    env = _sqlite_file(tmp_path)
    started = time.monotonic()
    processes = {"holder": _start("holder", 2, env)}
    time.sleep(0.5)  # let the holder take the lock first
    processes |= {role: _start(role, 60, env) for role in ("web", "worker", "beat")}
    processes |= {"web-2": _start("web", 60, env), "worker-2": _start("worker", 60, env)}
    answers = _finish(processes)
    assert {role: answer for role, answer in answers.items() if answer[0] != 0} == {}
    assert answers["holder"][1] == "ok 2" and answers["web"][1] == "ok 60" and answers["worker"][1] == "ok 60"
    assert answers["beat"][1] == "ok 60"
    assert time.monotonic() - started < 150

    # The same load without the busy timeout: some process meets "database is locked", so the
    # test above would notice if the settings lost their SQLite options.
    holder = _start("holder", 1, env, "--no-busy-timeout")
    time.sleep(0.5)
    control = _finish({"holder": holder, "web": _start("web", 20, env, "--no-busy-timeout")})
    assert control["web"][0] == 1 and control["web"][1].startswith("locked after"), control
