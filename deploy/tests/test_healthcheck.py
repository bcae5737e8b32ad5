"""deploy/healthcheck.py: the parts that need no running container (the boot test runs the rest)."""

import pytest

from deploy import healthcheck


@pytest.mark.parametrize(
    ("allowed_hosts", "host"),
    [("*", "localhost"), ("", "localhost"), ("nas.lan,127.0.0.1", "nas.lan"), (".example.lan", "example.lan")],
)
def test_the_web_check_sends_a_host_django_accepts(
    allowed_hosts: str, host: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DJANGO_ALLOWED_HOSTS", allowed_hosts)
    assert healthcheck._host_header() == host


def test_an_unknown_role_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert healthcheck.main(["healthcheck.py", "db"]) == 2
    assert "web|worker|beat" in capsys.readouterr().err


def test_beat_without_its_pidfile_is_unhealthy(capsys: pytest.CaptureFixture[str]) -> None:
    assert not healthcheck.BEAT_PIDFILE.exists()
    assert healthcheck.main(["healthcheck.py", "beat"]) == 1
    assert "celery beat is not running" in capsys.readouterr().out
