"""ruff, mypy, the import contracts and a migrations check run with the tests, so `make test` fails on any."""

import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]


def test_ruff_finds_nothing() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "."], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_nothing() -> None:
    """disallow_untyped_defs and warn_return_any on the application (pyproject.toml, [tool.mypy])."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "core",
            "registry_client",
            "jobs",
            "catalog",
            "inventory",
            "maintenance",
            "registry_admin",
            "retention",
            "access",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_imports_keep_the_layers() -> None:
    """The import-linter contracts in pyproject.toml: layers, docker only in the engine client, the web
    process never reaching the engine or the tasks, no import cycles."""
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db
def test_models_and_migrations_agree() -> None:
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as e:
        pytest.fail(f"makemigrations --check found changes without migrations:\n{out.getvalue()} ({e})")


def test_collectstatic_succeeds_with_the_production_storage(tmp_path: Path, settings: object) -> None:
    """make run and the image run collectstatic with WhiteNoise's manifest storage, which fails on a
    vendored file that names a missing file (e.g. a sourceMappingURL without its .map)."""
    settings.STATIC_ROOT = tmp_path  # type: ignore[attr-defined]
    settings.STORAGES = {  # type: ignore[attr-defined]
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", "--noinput", verbosity=0)
    assert (tmp_path / "staticfiles.json").exists()
