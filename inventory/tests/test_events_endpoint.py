"""POST /api/v1/events/: the token, the body, idempotence and order (events applied in-process)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from core.tests.throttles import throttle_rates
from inventory import events
from inventory.models import Event, Tag
from registry_client.client import OCI_MANIFEST
from testenv import images

pytestmark = [pytest.mark.django_db, pytest.mark.database]  # the inventory: also on PostgreSQL
TOKEN = "s3cret-events-token"
V2 = "application/vnd.docker.distribution.events.v2+json"
V1 = "application/vnd.docker.distribution.events.v1+json"


@pytest.fixture(autouse=True)
def _token(settings: Any) -> None:
    settings.REGISTRY_EVENTS_TOKEN = TOKEN


def event(action: str, repo: str, tag: str = "", digest: str = "", when: datetime | None = None, **extra: Any) -> dict:
    when = when or datetime.now(UTC)
    return {
        "id": extra.pop("id", str(uuid.uuid4())),
        "timestamp": when.isoformat().replace("+00:00", "Z"),
        "action": action,
        "target": {
            "mediaType": extra.pop("media_type", OCI_MANIFEST),
            "repository": repo,
            "tag": tag,
            "digest": digest,
        },
        "request": {"addr": "10.0.0.5:4242", "method": extra.pop("method", "PUT"), "useragent": "docker/24"},
        "actor": {"name": "ci"},
        **extra,
    }


def post(body: Any, content_type: str = V2, token: str | None = TOKEN) -> Any:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token is not None else {}
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    answer = Client().post("/api/v1/events/", data=data, content_type=content_type, **headers)
    events.apply_pending()  # what the worker's task does right after the answer
    return answer


def test_a_missing_or_wrong_token_is_401_and_stores_nothing(registry: Any, repo_prefix: str) -> None:
    digest = images.push_oci_image(registry.url, repo_prefix, "v1")
    body = {"events": [event("push", repo_prefix, "v1", digest)]}
    for token in (None, "wrong", ""):
        answer = post(body, token=token)
        assert answer.status_code == 401
        assert "detail" in answer.json()
    assert not Event.objects.exists()
    assert not Tag.objects.exists()


def test_events_off_is_401(settings: Any) -> None:
    settings.REGISTRY_EVENTS_TOKEN = ""
    answer = post({"events": []}, token="")
    assert answer.status_code == 401
    assert "REGISTRY_EVENTS_TOKEN" in answer.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[]",
        '{"events": {}}',
        '{"events": [1]}',
        '{"events": [{"id": "a", "action": "push"}]}',  # no timestamp
        '{"events": [{"timestamp": "2026-01-01T00:00:00Z", "action": "push"}]}',  # no id
    ],
)
def test_malformed_bodies_are_400_and_store_nothing(body: str) -> None:
    answer = post(body)
    assert answer.status_code == 400
    assert answer.json()["detail"]
    assert not Event.objects.exists()


def test_a_malformed_event_among_good_ones_stores_none_of_them(registry: Any, repo_prefix: str) -> None:
    digest = images.push_oci_image(registry.url, repo_prefix, "v1")
    answer = post({"events": [event("push", repo_prefix, "v1", digest), "nonsense"]})
    assert answer.status_code == 400
    assert not Event.objects.exists()


def test_a_method_the_endpoint_lacks_is_405_whoever_asks_and_reading_still_needs_a_login() -> None:
    for headers in ({"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}, {}):
        for method in ("put", "patch", "delete", "trace"):
            answer = getattr(Client(), method)("/api/v1/events/", **headers)
            assert answer.status_code == 405, (method, headers, answer.content[:200])
    assert Client().get("/api/v1/events/").status_code in (401, 403)
    assert Client().get("/api/v1/events/", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code in (401, 403)


def test_an_unknown_content_type_is_415() -> None:
    assert post({"events": []}, content_type="text/plain").status_code == 415


def test_both_versions_push_a_tag_and_duplicates_change_nothing(registry: Any, repo_prefix: str) -> None:
    digest = images.push_oci_image(registry.url, repo_prefix, "v1")
    push = event("push", repo_prefix, "v1", digest)
    first = post({"events": [push]}, content_type=V1)
    assert first.status_code == 200
    assert first.json() == {"stored": 1, "duplicates": 0, "ignored": 0}
    tag = Tag.objects.get(repository__name=repo_prefix, name="v1")
    assert tag.digest == digest and tag.pushed_by == "ci"
    again = post({"events": [push]}, content_type=f"{V2}; charset=utf-8")
    assert again.json() == {"stored": 0, "duplicates": 1, "ignored": 0}
    assert Event.objects.count() == 1
    assert Tag.objects.filter(repository__name=repo_prefix).count() == 1


def test_unusable_events_are_200_and_change_nothing(registry: Any, repo_prefix: str) -> None:
    body = {
        "events": [
            event("push", repo_prefix, media_type="application/octet-stream", digest="sha256:" + "0" * 64),
            event("frobnicate", repo_prefix, "v1"),
            event("push", "", "v1"),
        ]
    }
    answer = post(body)
    assert answer.status_code == 200
    assert answer.json()["ignored"] == 1  # the unknown action; the others are kept for the Activity page
    assert not Tag.objects.exists()


def test_events_dated_at_the_ends_of_the_calendar_are_ignored_and_the_others_apply(
    registry: Any, repo_prefix: str
) -> None:
    digest = images.push_oci_image(registry.url, repo_prefix, "v1")
    edges = ("0001-01-01T00:00:00Z", "0001-01-01T00:30:00+01:00", "9999-12-31T23:59:59-01:00")
    pulls = [event("pull", repo_prefix, "v1", digest, method="GET", timestamp=edge) for edge in edges]
    answer = post({"events": [*pulls, event("push", repo_prefix, "v1", digest)]})
    assert answer.status_code == 200
    assert answer.json() == {"stored": 1, "duplicates": 0, "ignored": 3}
    assert Tag.objects.get(repository__name=repo_prefix, name="v1").digest == digest
    assert list(Event.objects.values_list("action", flat=True)) == ["push"]


def test_out_of_order_events_keep_the_newest_state(registry: Any, repo_prefix: str) -> None:
    old = images.push_oci_image(registry.url, repo_prefix, "v1")
    new = images.push_oci_image(registry.url, repo_prefix, "v1")
    now = datetime.now(UTC)
    # The newer push arrives first, the older one after it: the tag stays on the newer digest.
    post({"events": [event("push", repo_prefix, "v1", new, when=now)]})
    post({"events": [event("push", repo_prefix, "v1", old, when=now - timedelta(seconds=5))]})
    assert Tag.objects.get(repository__name=repo_prefix, name="v1").digest == new
    # A delete older than the push that made the tag changes nothing.
    post({"events": [event("delete", repo_prefix, digest=new, when=now - timedelta(seconds=1), method="DELETE")]})
    assert Tag.objects.filter(repository__name=repo_prefix, name="v1").exists()
    # A later delete by digest removes it; the push before it, arriving late, does not bring it back.
    post({"events": [event("delete", repo_prefix, digest=new, when=now + timedelta(seconds=2), method="DELETE")]})
    assert not Tag.objects.filter(repository__name=repo_prefix, name="v1").exists()
    post({"events": [event("push", repo_prefix, "v1", new, when=now + timedelta(seconds=1))]})
    assert not Tag.objects.filter(repository__name=repo_prefix, name="v1").exists()


def test_a_body_too_large_is_413_json(settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    answer = post({"events": [], "padding": "x" * 2000})
    assert answer.status_code == 413
    assert "detail" in answer.json()
    assert not Event.objects.exists()


def test_a_client_pull_counts_once_whichever_of_its_two_events_arrives_first(registry: Any, repo_prefix: str) -> None:
    from inventory.models import Manifest

    digest = images.push_oci_image(registry.url, repo_prefix, "v1")
    now = datetime.now(UTC)
    post({"events": [event("push", repo_prefix, "v1", digest, when=now)]})
    head = event("pull", repo_prefix, "v1", digest, when=now + timedelta(seconds=1), method="HEAD")
    get = event("pull", repo_prefix, "", digest, when=now + timedelta(seconds=2), method="GET")
    # The registry's notifications bring them in two posts, the GET by digest first.
    post({"events": [get]})
    post({"events": [head]})
    assert Manifest.objects.get(digest=digest).pull_count == 1
    # A second pull by the same client later on counts again, in the usual order.
    post({"events": [event("pull", repo_prefix, "v1", digest, when=now + timedelta(seconds=90), method="HEAD")]})
    post({"events": [event("pull", repo_prefix, "", digest, when=now + timedelta(seconds=91), method="GET")]})
    assert Manifest.objects.get(digest=digest).pull_count == 2
    assert Tag.objects.get(repository__name=repo_prefix, name="v1").last_pulled is not None


def test_the_registry_is_never_throttled_while_a_wrong_token_still_is(
    settings: Any, registry: Any, repo_prefix: str
) -> None:
    """The registry sends one request per event; the API's anonymous throttle refused it under CI
    traffic (429) and events were lost. The right token is never throttled; a wrong one counts."""
    with throttle_rates(settings, {"token": "3/minute", "anon": "2/minute"}):
        digest = images.push_oci_image(registry.url, repo_prefix, "v1")
        answers = [
            Client()
            .post(
                "/api/v1/events/",
                data=json.dumps({"events": [event("push", repo_prefix, f"t{i}", digest)]}),
                content_type=V2,
                HTTP_AUTHORIZATION=f"Bearer {TOKEN}",
                REMOTE_ADDR="10.7.7.7",
            )
            .status_code
            for i in range(10)
        ]
        assert answers == [200] * 10
        assert Event.objects.count() == 10
        wrong = [
            Client()
            .post(
                "/api/v1/events/", data="{}", content_type=V2, HTTP_AUTHORIZATION="Bearer wrong", REMOTE_ADDR="10.7.7.6"
            )
            .status_code
            for _ in range(3)
        ]
        assert wrong == [401, 401, 429]
        missing = Client().post("/api/v1/events/", data="{}", content_type=V2, REMOTE_ADDR="10.7.7.6")
        assert missing.status_code == 429
        right_from_the_same_address = Client().post(
            "/api/v1/events/",
            data=json.dumps({"events": []}),
            content_type=V2,
            HTTP_AUTHORIZATION=f"Bearer {TOKEN}",
            REMOTE_ADDR="10.7.7.6",
        )
        assert right_from_the_same_address.status_code == 200


@pytest.mark.parametrize(
    ("repository", "tag", "digest"),
    [
        ("sec/xss<b id=x>", "v1", ""),  # HTML in a repository name
        ("sec/app", "<script>alert(1)</script>", ""),  # and in a tag
        ("sec/a\x00pp", "v1", ""),  # NUL, which PostgreSQL refuses in text
        ("Sec/App", "v1", ""),  # uppercase: never a repository name
        ("sec/" + "a" * 300, "v1", ""),  # longer than a name may be
        ("sec/app", "-v1", ""),  # a tag cannot start with -
        ("sec/app", "v1", "sha256:<img>"),
        (7, "v1", ""),
    ],
)
def test_an_event_naming_what_no_registry_could_hold_is_ignored_never_stored(
    repository: Any, tag: str, digest: str
) -> None:
    answer = post({"events": [event("push", repository, tag, digest)]})
    assert answer.status_code == 200, answer.content
    assert answer.json() == {"stored": 0, "duplicates": 0, "ignored": 1}
    assert not Event.objects.exists()


def test_a_nul_anywhere_in_an_event_is_ignored_and_the_good_ones_are_stored(repo_prefix: str) -> None:
    nul_agent = event("pull", repo_prefix, "v1")
    nul_agent["request"]["useragent"] = "docker\x00/24"
    good = event("pull", repo_prefix, "v1")
    answer = post({"events": [nul_agent, good]})
    assert answer.json() == {"stored": 1, "duplicates": 0, "ignored": 1}
    assert list(Event.objects.values_list("event_id", flat=True)) == [good["id"]]


@pytest.mark.parametrize("levels", [65, 5_000, 100_000])
def test_a_body_nested_deeper_than_64_levels_is_400_saying_so(levels: int) -> None:
    body = '{"events": [' + "[" * levels + "]" * levels + "]}"
    answer = post(body)
    assert answer.status_code == 400
    assert "nested deeper than 64 levels" in answer.json()["detail"]
    assert not Event.objects.exists()


def test_a_body_nested_64_levels_is_parsed(repo_prefix: str) -> None:
    nested: Any = "x"
    for _ in range(60):
        nested = {"n": nested}
    good = event("pull", repo_prefix, "v1", deep=nested)  # 3 levels around it: 64 in all
    answer = post({"events": [good]})
    assert answer.status_code == 200, answer.content
    assert answer.json()["stored"] == 1
