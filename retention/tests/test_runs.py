"""Previews and runs against the real v3.1.1 and 2.8.2 registries: real pushes, the inventory synced,
then preview and run; what the preview says goes is what is gone from the registry afterwards."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from catalog.models import ProtectedTag
from core.models import AuditEntry
from inventory.models import EventsGap, EventsState, Tag
from jobs.models import Job
from registry_client.client import RegistryClient, RegistryUnavailable
from retention.tests.helpers import create_policy, days_ago, decisions, exists, preview, push, run_policy
from testenv import images

pytestmark = pytest.mark.django_db


def test_keep_last_keeps_the_newest_and_the_run_deletes_exactly_the_preview(
    versioned_registry: Any, repo_prefix: str, admin_client_role: Client
) -> None:
    url, repo = versioned_registry.url, f"{repo_prefix}-{versioned_registry.major}"
    digests = {tag: push(url, repo, tag, age) for tag, age in [("v1", 40), ("v2", 30), ("v3", 20), ("v4", 10)]}
    digests["nodate"] = push(url, repo, "nodate", None)
    policy = create_policy(admin_client_role, repositories=[repo], keep_last=2, untagged=True)

    found = preview(admin_client_role, policy)
    deleted, kept = decisions(found, repo)
    assert sorted(deleted) == ["nodate", "v1", "v2"] and sorted(kept) == ["v3", "v4"]
    assert "no created date (counts as oldest)" in deleted["nodate"]
    assert kept["v4"] == "kept: among the last 2 by created"
    assert found["tags"] == 3 and found["manifests"] == 3 and found["bytes"] > 0
    assert set(found) == {"repositories", "tags", "manifests", "bytes", "fingerprint"}

    job = run_policy(admin_client_role, policy, found["fingerprint"])
    assert job.status == Job.Status.SUCCEEDED, job.error + job.output
    assert sorted(t["tag"] for t in job.result["deleted_tags"]) == sorted(deleted)
    assert sorted(m["digest"] for m in job.result["deleted_manifests"]) == sorted(digests[t] for t in deleted)
    for tag in deleted:  # gone from the registry, by tag and by digest
        assert not exists(url, repo, tag) and not exists(url, repo, digests[tag])
    for tag in kept:
        assert exists(url, repo, tag)
    assert job.result["refused"] == [] and job.result["failed"] == []
    audited = AuditEntry.objects.filter(action="delete-tag", repository=repo, outcome="succeeded")
    assert sorted(audited.values_list("tag", flat=True)) == sorted(deleted)
    assert preview(admin_client_role, policy)["tags"] == 0  # nothing left to do


def test_each_keep_rule_alone_and_combined(
    registry: Any, repo_prefix: str, admin_client_role: Client, settings: Any
) -> None:
    url, repo = registry.url, repo_prefix
    # Pulls are counted by the registry's events: on, and applied since before keep_pulled_days' window.
    settings.REGISTRY_EVENTS_TOKEN = "events-token"
    EventsState.objects.update_or_create(pk=1, defaults={"tracking_since": days_ago(60)})
    for tag, age in [("a-old", 50), ("b-mid", 20), ("c-new", 2), ("stable", 90), ("pr-1", 60), ("pr-2", 1)]:
        push(url, repo, tag, age)
    pulled = create_policy(admin_client_role, name="p", repositories=[repo], keep_pulled_days=7)
    preview(admin_client_role, pulled)
    # Pulls reach the inventory through the registry's events; here set as an event would.
    Tag.objects.filter(repository__name=repo, name="a-old").update(last_pulled=days_ago(3))
    Tag.objects.filter(repository__name=repo, name="b-mid").update(last_pulled=days_ago(30))

    def outcome(**fields: Any) -> tuple[list[str], list[str]]:
        policy = create_policy(admin_client_role, repositories=[repo], **fields)
        deleted, kept = decisions(preview(admin_client_role, policy), repo)
        return sorted(deleted), sorted(kept)

    everything = ["a-old", "b-mid", "c-new", "pr-1", "pr-2", "stable"]
    assert outcome(name="days", keep_days=10) == (["a-old", "b-mid", "pr-1", "stable"], ["c-new", "pr-2"])
    assert outcome(name="last", keep_last=1) == (sorted(set(everything) - {"pr-2"}), ["pr-2"])
    assert outcome(name="keep", keep_tags="^stable$") == (sorted(set(everything) - {"stable"}), ["stable"])
    deleted, kept = decisions(preview(admin_client_role, pulled), repo)
    assert sorted(kept) == ["a-old"] and "pulled within 7 days" in kept["a-old"]
    assert "last pulled" in deleted["b-mid"] and "never pulled" in deleted["c-new"]
    # A gap in the events inside the window: no image is proven unpulled, each says why it stays.
    gap = EventsGap.objects.create(started=days_ago(5), ended=days_ago(4), reason="The registry restarted.")
    deleted, kept = decisions(preview(admin_client_role, pulled), repo)
    assert deleted == {} and "pulled within 7 days" in kept["a-old"]
    assert "pull history incomplete: gap from" in kept["b-mid"] and "The registry restarted." in kept["b-mid"]
    gap.delete()
    # Tracking that began inside the window, or events off: the same.
    EventsState.objects.filter(pk=1).update(tracking_since=days_ago(2))
    deleted, kept = decisions(preview(admin_client_role, pulled), repo)
    assert deleted == {} and "pulls counted only since" in kept["c-new"]
    settings.REGISTRY_EVENTS_TOKEN = ""
    deleted, kept = decisions(preview(admin_client_role, pulled), repo)
    assert deleted == {} and "events are off" in kept["c-new"]
    settings.REGISTRY_EVENTS_TOKEN = "events-token"
    EventsState.objects.filter(pk=1).update(tracking_since=days_ago(60))
    # Selection: only pr- tags are considered; the others are kept as not selected.
    deleted, kept = decisions(
        preview(
            admin_client_role,
            create_policy(admin_client_role, name="sel", repositories=[repo], tags="^pr-", exclude_tags="-2$"),
        ),
        repo,
    )
    assert sorted(deleted) == ["pr-1"] and kept["pr-2"].startswith("not selected: matches exclude_tags")
    assert kept["stable"].startswith("not selected: does not match tags")
    # Combined: any rule keeps (OR).
    assert outcome(name="or", keep_days=10, keep_tags="^stable$", keep_pulled_days=7) == (
        ["b-mid", "pr-1"],
        ["a-old", "c-new", "pr-2", "stable"],
    )
    # Repository globs: this repository alone, excluded, or under a namespace glob.
    other = create_policy(admin_client_role, name="glob", repositories=["**"], exclude_repositories=[repo])
    assert repo not in [r["name"] for r in preview(admin_client_role, other)["repositories"]]


def test_a_tag_sharing_its_digest_with_a_kept_tag(
    versioned_registry: Any, repo_prefix: str, admin_client_role: Client
) -> None:
    url, repo = versioned_registry.url, f"{repo_prefix}-{versioned_registry.major}"
    digest = push(url, repo, "old", 40)
    images.tag_existing(url, repo, "stable", digest)
    policy = create_policy(admin_client_role, repositories=[repo], keep_tags="^stable$", untagged=True)
    found = preview(admin_client_role, policy)
    deleted, kept = decisions(found, repo)
    if versioned_registry.major == 3:
        assert (
            list(deleted) == ["old"] and "only the tag goes: its manifest stays for kept tag stable" in deleted["old"]
        )
    else:
        assert deleted == {} and "shares its manifest with kept tag stable" in kept["old"]
    assert found["manifests"] == 0 and found["bytes"] == 0

    job = run_policy(admin_client_role, policy, found["fingerprint"])
    assert job.status == Job.Status.SUCCEEDED, job.error + job.output
    assert exists(url, repo, "stable") and exists(url, repo, digest)
    assert exists(url, repo, "old") is (versioned_registry.major == 2)


def test_signatures_follow_their_image_and_are_not_counted(
    versioned_registry: Any, repo_prefix: str, admin_client_role: Client
) -> None:
    url, repo = versioned_registry.url, f"{repo_prefix}-{versioned_registry.major}"
    old = push(url, repo, "1.0", 30)
    new = push(url, repo, "2.0", 1)
    old_sig = images.push_cosign_signature(url, repo, old)
    images.push_cosign_signature(url, repo, new)
    policy = create_policy(admin_client_role, repositories=[repo], keep_last=1, untagged=True)
    found = preview(admin_client_role, policy)
    deleted, kept = decisions(found, repo)
    old_tag, new_tag = f"sha256-{old[7:]}.sig", f"sha256-{new[7:]}.sig"
    assert sorted(deleted) == sorted(["1.0", old_tag]) and deleted[old_tag] == "attached to 1.0: goes with it"
    assert kept[new_tag] == "attached to kept 2.0: stays with it" and "2.0" in kept
    assert found["manifests"] == 2  # the image and its signature

    job = run_policy(admin_client_role, policy, found["fingerprint"])
    assert job.status == Job.Status.SUCCEEDED, job.error + job.output
    assert not exists(url, repo, old_tag) and not exists(url, repo, old_sig.digest) and not exists(url, repo, old)
    assert exists(url, repo, new_tag) and exists(url, repo, "2.0")


def test_an_index_goes_with_its_platforms_and_a_kept_index_keeps_its_own(
    versioned_registry: Any, repo_prefix: str, admin_client_role: Client
) -> None:
    url, repo = versioned_registry.url, f"{repo_prefix}-{versioned_registry.major}"
    old_index, old_children = images.push_oci_index(url, repo, "multi-old", created=days_ago(30))
    new_index, new_children = images.push_oci_index(url, repo, "multi-new", created=days_ago(1))
    amd64 = new_children["linux/amd64"]
    images.tag_existing(url, repo, "amd64", amd64)  # a platform of the kept index, tagged on its own
    policy = create_policy(admin_client_role, repositories=[repo], keep_tags="^multi-new$", untagged=True)
    found = preview(admin_client_role, policy)
    deleted, kept = decisions(found, repo)
    assert "multi-old" in deleted and "multi-new" in kept
    if versioned_registry.major == 3:
        assert "only the tag goes: it is a platform of kept index multi-new" in deleted["amd64"]
    else:
        assert "a platform of kept index multi-new" in kept["amd64"]
    assert found["manifests"] == 3  # the old index and its two platforms

    job = run_policy(admin_client_role, policy, found["fingerprint"])
    assert job.status == Job.Status.SUCCEEDED, job.error + job.output
    assert sorted(m["digest"] for m in job.result["deleted_manifests"]) == sorted([old_index, *old_children.values()])
    for digest in [old_index, *old_children.values()]:
        assert not exists(url, repo, digest)
    for digest in [new_index, *new_children.values()]:
        assert exists(url, repo, digest)  # the kept index is whole
    assert exists(url, repo, "amd64") is (versioned_registry.major == 2)


def test_a_stale_fingerprint_is_refused_and_nothing_is_deleted(
    registry: Any, repo_prefix: str, admin_client_role: Client
) -> None:
    url, repo = registry.url, repo_prefix
    for tag, age in [("v1", 30), ("v2", 20)]:
        push(url, repo, tag, age)
    policy = create_policy(admin_client_role, repositories=[repo], keep_last=1)
    found = preview(admin_client_role, policy)
    push(url, repo, "v3", 1)  # the registry moves on after the preview
    preview(admin_client_role, policy)  # (syncs the inventory)
    answer = admin_client_role.post(
        f"/api/v1/retention-policies/{policy['id']}/run/",
        {"fingerprint": found["fingerprint"]},
        content_type="application/json",
    )
    assert answer.status_code == 409 and "changed since this preview" in answer.json()["detail"]
    assert all(exists(url, repo, tag) for tag in ("v1", "v2", "v3"))
    assert not Job.objects.filter(kind=Job.Kind.RETENTION).exists()


def test_protected_tags_are_kept_whatever_the_policy_says(
    versioned_registry: Any, repo_prefix: str, admin_client_role: Client
) -> None:
    url, repo = versioned_registry.url, f"{repo_prefix}-{versioned_registry.major}"
    push(url, repo, "v1.0.0", 40)
    push(url, repo, "build-7", 30)
    rule = ProtectedTag.objects.create(repositories="**", tags=r"^v?\d+\.\d+\.\d+$")
    policy = create_policy(admin_client_role, repositories=[repo], untagged=True)  # no keep rule: all would go
    found = preview(admin_client_role, policy)
    deleted, kept = decisions(found, repo)
    assert list(deleted) == ["build-7"] and kept["v1.0.0"] == rule.describe()
    job = run_policy(admin_client_role, policy, found["fingerprint"])
    assert job.status == Job.Status.SUCCEEDED, job.error + job.output
    assert exists(url, repo, "v1.0.0") and not exists(url, repo, "build-7")


def test_a_failure_midway_stops_the_run_and_says_what_was_and_was_not_done(
    registry: Any, repo_prefix: str, admin_client_role: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = registry.url
    repos = [f"{repo_prefix}/a", f"{repo_prefix}/b", f"{repo_prefix}/c"]
    for repo in repos:
        push(url, repo, "old", 30)
        push(url, repo, "new", 1)
    policy = create_policy(admin_client_role, repositories=[f"{repo_prefix}/*"], keep_last=1)
    found = preview(admin_client_role, policy)
    real = RegistryClient.delete_manifest

    def failing(self: RegistryClient, name: str, reference: str) -> Any:
        # The fault a real registry cannot be made to give on demand: it stops answering midway.
        if name == repos[1] and reference == "old":
            raise RegistryUnavailable("The registry did not answer (injected).")
        return real(self, name, reference)

    monkeypatch.setattr(RegistryClient, "delete_manifest", failing)
    job = run_policy(admin_client_role, policy, found["fingerprint"])
    # It deleted part of its plan: problems found with the counts, neither "succeeded" nor "failed".
    assert job.status == Job.Status.WARNING, job.error + job.output
    assert "1 tag of 3 deleted, 1 delete failed, 1 repository not attempted" in job.error
    assert [t["repository"] for t in job.result["deleted_tags"]] == [repos[0]]
    assert [f["repository"] for f in job.result["failed"]] == [repos[1]]
    assert job.result["not_attempted"] == [repos[2]]
    assert "Not attempted" in job.error and repos[2] in job.error
    assert not exists(url, repos[0], "old") and exists(url, repos[1], "old") and exists(url, repos[2], "old")


def test_a_run_is_refused_while_a_garbage_collection_is_queued(
    registry: Any, repo_prefix: str, admin_client_role: Client
) -> None:
    push(registry.url, repo_prefix, "v1", 30)
    policy = create_policy(admin_client_role, repositories=[repo_prefix])
    preview(admin_client_role, policy)
    gc = Job.objects.create(kind=Job.Kind.GC, params={"dry_run": True})
    answer = admin_client_role.post(
        f"/api/v1/retention-policies/{policy['id']}/run/", {}, content_type="application/json"
    )
    assert answer.status_code == 409 and answer.json()["job"]["id"] == gc.pk
    assert exists(registry.url, repo_prefix, "v1")


def test_operators_preview_and_run_viewers_do_not(
    registry: Any, repo_prefix: str, admin_client_role: Client, operator_client: Client, viewer_client: Client
) -> None:
    push(registry.url, repo_prefix, "v1", 30)
    policy = create_policy(admin_client_role, repositories=[repo_prefix], keep_last=1)
    assert viewer_client.post(f"/api/v1/retention-policies/{policy['id']}/preview/").status_code == 403
    found = preview(operator_client, policy)
    assert found["tags"] == 0
    job = run_policy(operator_client, policy, found["fingerprint"])
    assert job.status == Job.Status.SUCCEEDED and job.user is not None and job.user.username == "otto"


def test_a_preview_reads_the_repositories_first_when_the_inventory_cannot_vouch(
    registry: Any, repo_prefix: str, admin_client_role: Client, settings: Any
) -> None:
    """An events gap no sync has covered: a tag pushed meanwhile is in the preview, which says why."""
    url, repo = registry.url, repo_prefix
    push(url, repo, "old", 40)
    policy = create_policy(admin_client_role, repositories=[repo], keep_last=1)
    found = preview(admin_client_role, policy)  # synced: the inventory vouches
    assert "refreshed" not in found and decisions(found, repo) == ({}, {"old": "kept: among the last 1 by created"})
    EventsGap.objects.create(started=days_ago(0.01), reason="The registry restarted.")
    push(url, repo, "new", 1)  # its event lost in the gap
    answer = admin_client_role.post(f"/api/v1/retention-policies/{policy['id']}/preview/")  # no sync before
    assert answer.status_code == 200, answer.content
    found = answer.json()
    assert "1 repository read from the registry first" in found["refreshed"]
    assert "The registry restarted." in found["refreshed"]
    deleted, kept = decisions(found, repo)
    assert list(deleted) == ["old"] and list(kept) == ["new"]


def test_a_policy_selecting_no_repository_previews_and_runs_nothing(
    registry: Any, repo_prefix: str, admin_client_role: Client
) -> None:
    """The inventory has repositories, none of them the policy's: an empty selection (found by the
    fuzz: the plan's query of no repository was a 500)."""
    push(registry.url, f"{repo_prefix}/kept", "v1", 30)
    policy = create_policy(admin_client_role, repositories=[f"{repo_prefix}-none/**"], keep_last=1)
    found = preview(admin_client_role, policy)
    assert found["repositories"] == [] and found["tags"] == 0
    job = run_policy(admin_client_role, policy, found["fingerprint"])
    assert job.status == Job.Status.SUCCEEDED, job.result
    assert exists(registry.url, f"{repo_prefix}/kept", "v1")
