"""DJANGO_HTTPS=true: secure cookies, HSTS and the proxy's header; check --deploy is clean."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
settings.ALLOWED_HOSTS = ["nas.lan"]
settings.STORAGES = {**settings.STORAGES, "staticfiles": {
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # no collectstatic here
c = Client(HTTP_HOST="nas.lan")
behind_tls = c.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")
plain = c.get("/accounts/login/")
alive = c.get("/-/alive")
print(json.dumps({
    "hsts": behind_tls.headers.get("Strict-Transport-Security"),
    "login": behind_tls.status_code,
    "secure_cookie": bool(behind_tls.cookies["csrftoken"]["secure"]) if "csrftoken" in behind_tls.cookies else None,
    "plain": [plain.status_code, plain.headers.get("Location")],
    "alive": alive.status_code,
    "session_secure": settings.SESSION_COOKIE_SECURE,
}))
"""


def _run(args: list[str], https: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "DJANGO_HTTPS": https,
        "DATA_DIR": str(tmp_path),
        # The URLs name a static file at import, which the production storage finds in the manifest.
        "STATIC_ROOT": str(_collected()),
        "DJANGO_ALLOWED_HOSTS": "nas.lan",
        "DJANGO_SETTINGS_MODULE": "registry_admin.settings",
    }
    for name in (
        "DJANGO_DEBUG",
        "DJANGO_ALLOW_ASYNC_UNSAFE",
        "DJANGO_SECRET_KEY",
    ):  # the tests' own, not a deployment's
        environment.pop(name, None)
    return subprocess.run(args, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120)


_STATIC: list[Path] = []


def _collected() -> Path:
    """collectstatic once for this module's subprocesses (they run with the production storage)."""
    if not _STATIC:
        import tempfile

        root = Path(tempfile.mkdtemp(prefix="ra-static-"))
        environment = {**os.environ, "STATIC_ROOT": str(root), "DATA_DIR": str(root / "data")}
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
            cwd=ROOT,
            env=environment,
            check=True,
            timeout=300,
        )
        _STATIC.append(root)
    return _STATIC[0]


def test_check_deploy_reports_nothing_behind_https(tmp_path: Path) -> None:
    result = _run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], "true", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_plain_http_stays_the_default_and_check_deploy_says_what_https_would_add(tmp_path: Path) -> None:
    result = _run([sys.executable, "manage.py", "check", "--deploy"], "", tmp_path)
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr + result.stdout


def test_behind_the_proxy_cookies_are_secure_and_hsts_is_sent(tmp_path: Path) -> None:
    result = _run([sys.executable, "-c", PROBE], "true", tmp_path)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["login"] == 200 and seen["session_secure"] is True and seen["secure_cookie"] is True
    assert "max-age=31536000" in seen["hsts"]
    assert seen["plain"] == [301, "https://nas.lan/accounts/login/"]
    assert seen["alive"] == 200  # the container's own health check stays plain HTTP
