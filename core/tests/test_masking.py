"""What looks like a secret is hidden: registry log lines, environment values, URLs, saved inspect output."""

from __future__ import annotations

import pytest

from core import masking


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        (
            'msg="configuring endpoint dash (http://h/x), timeout=2s, headers=map[Authorization:[Bearer abcdef]]"',
            "abcdef",
        ),
        ("GET /v2/?token=abcdef&n=5", "abcdef"),
        ("password=abcdef secret: 'x'", "abcdef"),
        ('"Authorization":"Basic abcdef"', "abcdef"),
        ("pulling from http://user:abcdef@host/v2/", "abcdef"),
        ("X-Amz-Signature=abcdef", "abcdef"),
    ],
)
def test_secrets_in_log_lines_are_masked(line: str, kept: str) -> None:
    masked = masking.mask_log_line(line)
    assert kept not in masked and masking.MASK in masked


def test_ordinary_lines_are_left_alone() -> None:
    for line in [
        'level=info msg="listening on [::]:5000"',
        "repo/x: marking manifest sha256:abc",
        "blob eligible for deletion: sha256:abc",
    ]:
        assert masking.mask_log_line(line) == line


def test_the_saved_inspect_output_hides_secret_values_and_url_credentials_in_order() -> None:
    attrs = {
        "Name": "/registry",
        "Config": {
            "Env": ["REGISTRY_HTTP_SECRET=hunter2", "PROXY=http://u:pw123@proxy.lan:3128", "PATH=/bin", "EMPTY_TOKEN="]
        },
    }
    shown = masking.masked_inspect(attrs)
    assert shown["Config"]["Env"] == [
        f"REGISTRY_HTTP_SECRET={masking.MASK}",
        f"PROXY=http://{masking.MASK}@proxy.lan:3128",
        "PATH=/bin",
        "EMPTY_TOKEN=",
    ]
    assert attrs["Config"]["Env"][0] == "REGISTRY_HTTP_SECRET=hunter2"  # the saved record is left as it was
