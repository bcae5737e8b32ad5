"""Running a plan against the registry, never removing more than the user chose.

The registry's own semantics are the trap (distribution#1566): ``DELETE`` by digest removes
the manifest and with it *every* tag pointing to it. registry:3 can delete a tag alone
(``DELETE /v2/<name>/manifests/<tag>`` answers 202, distribution PR #3427); 2.x answers
400 ``DIGEST_INVALID``. We never guess the version from headers: we try and read the answer.

- ``execute``: any plan. A selection's, step by step (by tag on registry:3, by digest on 2.x),
  then (``prune``) the manifests it left untagged and the artifacts attached to what went; a
  manifest's, by digest, then the manifests of its attached tags and its attached artifacts.
- ``delete_tag``: DELETE by tag; on ``DIGEST_INVALID`` (2.x) the one-tag plan of the
  repository as read, run by digest (refused when other tags share the manifest, unless forced).
- ``delete_manifest``: the manifest's plan, executed.

Every delete, refusal and failure is written to the audit log (``catalog.deletion.audit``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import overload

from django.http import HttpRequest

from catalog import protection
from catalog.blobs import invalidate_repository
from catalog.deletion import audit
from catalog.deletion.errors import (
    PROTECTION_ADVICE,
    DeletionDisabled,
    DeletionError,
    DeletionFailed,
    ProtectedTagRefused,
    ReferencedByIndex,
    SharedManifest,
    from_registry,
    is_disabled,
    protected_list,
    validate_name,
    validate_tag,
)
from catalog.deletion.plan import (
    DeletePlan,
    DeleteResult,
    ManifestPlan,
    Plan,
    Status,
    plan_delete,
    plan_from_scan,
    plan_manifest,
    preview_delete,
    unique,
)
from catalog.deletion.scan import attached_tags, scan_children, scan_repository
from inventory import storage
from registry_client.client import RegistryClient, RegistryError, RegistryNotFound, RegistryRejected, get_client


def _after_delete(name: str, removed_tags: Sequence[str], *digests: str) -> None:
    """Drop what the catalog caches and the inventory holds of what went: its pages show the
    registry as it is now, without waiting for the registry's event or the next sync. What the
    delete left for a garbage collection is recorded first, from the inventory as it was (the
    computation of the dialog's promise): the storage picture counts it from now on (issue 25)."""
    # Imported here, after a delete only: the web process keeps the sync machinery out otherwise.
    from inventory import sync as inventory_sync

    released = storage.release(name, removed_tags, digests)
    inventory_sync.forget(name, removed_tags, digests)
    storage.record_release(name, released)
    invalidate_repository(name)


# --- A selection ------------------------------------------------------------------------------


@overload
def execute(plan: DeletePlan, request: HttpRequest | None = None, *, prune: bool = False) -> DeletePlan: ...


@overload
def execute(plan: ManifestPlan, request: HttpRequest | None = None, *, prune: bool = False) -> DeleteResult: ...


def execute(plan: Plan, request: HttpRequest | None = None, *, prune: bool = False) -> DeletePlan | DeleteResult:
    """Run a plan as planned: a selection's (``prune``: see ``_run_selection``), the plan done;
    a manifest's, what went (``prune`` does not apply: a manifest goes by digest)."""
    if isinstance(plan, ManifestPlan):
        return _run_manifest(plan, request)
    if not isinstance(plan, DeletePlan):
        raise TypeError(f"Not a delete plan: {plan!r}")
    return _run_selection(plan, request, prune=prune)


def _run_selection(plan: DeletePlan, request: HttpRequest | None = None, *, prune: bool = False) -> DeletePlan:
    """Run the plan's DELETE requests in order; every selected tag gets an audit entry.

    A step the registry refuses marks its tags failed with the registry's answer; the other
    steps still run (they are independent by construction: refusals were decided up front).
    With ``prune`` (registry:3), the manifests the tag deletes left untagged are deleted
    next, each only if a fresh read still finds it untagged.
    """
    client = get_client()
    outcomes = {o.tag: o for o in plan.outcomes}
    for step in plan.steps:
        try:
            client.delete_manifest(plan.repository, step.reference)
        except RegistryError as e:
            error = from_registry(e)
            for tag in step.selected:
                outcomes[tag] = replace(
                    outcomes[tag],
                    status=Status.FAILED,
                    removed_tags=(),
                    deleted_manifest=None,
                    detail=error.message,
                    registry_response=error.registry_response,
                )
    pruned: tuple[str, ...] = ()
    if prune and plan.deletes_tags and plan.prunable:
        pruned = _prune(client, plan)
        for tag, outcome in outcomes.items():
            if outcome.status == Status.REMOVED and outcome.digest in pruned:
                outcomes[tag] = replace(outcome, deleted_manifest=outcome.digest)
    gone = {o.deleted_manifest for o in outcomes.values() if o.status == Status.REMOVED} | set(pruned)
    going = [a for s, a in plan.attached if s in gone]
    attached = tuple(a for a in going if a in pruned) + _delete_attached(
        client, plan.repository, [a for a in going if a not in pruned and a not in plan.prunable]
    )
    done = replace(
        plan,
        outcomes=tuple(outcomes[tag] for tag in plan.selected),
        executed=True,
        pruned=pruned,
        attached_deleted=attached,
    )
    if done.removed_tags:
        _after_delete(plan.repository, done.removed_tags, *done.deleted_manifests)
    for outcome in done.outcomes:
        audit.record_outcome(done, outcome, request)
    return done


def _delete_attached(client: RegistryClient, name: str, digests: Sequence[str]) -> tuple[str, ...]:
    """Delete artifacts attached by digest whose subject went; the ones deleted (404: gone already).

    A failure keeps that artifact: its subject is gone, so the next reconcile forgets it and a
    garbage collection with "Delete untagged manifests" frees it.
    """
    deleted = []
    for digest in digests:
        try:
            client.delete_manifest(name, digest)
        except RegistryNotFound:
            pass
        except RegistryError:
            continue
        deleted.append(digest)
    return tuple(deleted)


def _prune(client: RegistryClient, plan: DeletePlan) -> tuple[str, ...]:
    """Delete the plan's prunable manifests that a fresh scan still finds untagged; the ones deleted.

    The scan runs after the tag deletes: a tag pushed meanwhile onto one of these manifests
    keeps it. A manifest already gone (404) counts as deleted; another failure keeps it.
    """
    try:
        scan = scan_repository(client, plan.repository)
    except RegistryError:
        return ()
    tagged = {ref.digest for ref in scan.refs.values()}
    deleted: list[str] = []
    for digest in plan.prunable:
        if digest in tagged or any(
            digest in members and index not in deleted for index, members in scan.children.items()
        ):
            continue
        try:
            client.delete_manifest(plan.repository, digest)
        except RegistryNotFound:
            pass
        except RegistryError:
            continue
        deleted.append(digest)
    return tuple(deleted)


def _prune_after_tag_delete(client: RegistryClient, name: str, digest: str) -> tuple[str, ...]:
    """After a tag delete on registry:3: delete its manifest if a fresh scan finds it untagged."""
    try:
        scan = scan_repository(client, name)
    except RegistryError:
        return ()
    if any(ref.digest == digest for ref in scan.refs.values()) or scan.indexes_referencing(digest):
        return ()
    children = scan_children(client, name, digest)
    tagged = {ref.digest for ref in scan.refs.values()}
    platforms = sorted(c for c in children if c not in tagged and not scan.indexes_referencing(c))
    plan = DeletePlan(name, (), False, True, (), (), prunable=(digest, *platforms))
    return _prune(client, plan)


def bulk_delete(
    name: str,
    tags: Sequence[str],
    *,
    dry_run: bool,
    force: bool,
    prune: bool = False,
    request: HttpRequest | None = None,
) -> DeletePlan:
    """``POST .../bulk-delete/``: the plan (dry run) or the plan executed."""
    try:
        # A dry run is a preview: it reads the repository into the inventory first when that cannot vouch.
        plan = (preview_delete if dry_run else plan_delete)(name, tags, force=force)
    except (DeletionDisabled, DeletionFailed) as e:
        if not dry_run:
            audit.record_selection_error(request, name, unique(tags), e)
        raise
    if dry_run:
        return plan
    refuse_protected(plan, tags, request)
    return execute(plan, request, prune=prune)


def refuse_protected(plan: DeletePlan, selected: Sequence[str], request: HttpRequest | None = None) -> None:
    """Refuse a bulk delete whose selection holds a protected tag (or, on 2.x, a tag sharing its
    manifest with one): ProtectedTagRefused (409), nothing deleted, each selected tag audited as
    refused. The dry run lists them instead (``protected_by`` on their outcomes)."""
    chosen = unique(selected)
    kept = {o.tag: o.protected_by for o in plan.protected if o.tag in chosen}
    if not kept:
        return
    names = ", ".join(sorted(kept))
    message = (
        f"Nothing was deleted: the selection holds {len(kept)} protected tag{'s' if len(kept) > 1 else ''} "
        f"({names}); {protected_list(kept)}. Deselect {'them' if len(kept) > 1 else 'it'} to delete the rest. "
        f"{PROTECTION_ADVICE}"
    )
    error = ProtectedTagRefused(message, protected=kept)
    for tag in chosen:
        outcome = next((o for o in plan.outcomes if o.tag == tag), None)
        audit.record_error(
            "delete-tag", "refused", request, plan.repository, tag, outcome.digest if outcome else "", error
        )
    raise error


# --- One tag, one manifest ---------------------------------------------------------------------


def delete_tag(
    name: str, tag: str, *, force: bool = False, prune: bool = False, request: HttpRequest | None = None
) -> DeleteResult:
    """Delete one tag: by tag where the registry can (registry:3), else by digest if it is alone.

    With ``prune`` on registry:3, a manifest the tag delete left untagged is deleted too (with
    the platforms of an index no other tag names), so the next garbage collection frees it;
    ``deleted_manifest`` then names it. On 2.x a tag alone already goes with its manifest: the
    one-tag plan of the repository decides, and its step runs by digest.

    Raises SharedManifest (409) when other tags share the manifest on 2.x and ``force`` is
    not set, ReferencedByIndex (409), ProtectedTagRefused (409), DeletionDisabled (409),
    DeletionFailed, InvalidRequest.
    """
    validate_name(name)
    validate_tag(tag)
    rule = protection.protecting_rule(name, tag)
    if rule is not None:  # refused before any registry request: nothing can go
        error: DeletionError = ProtectedTagRefused(
            f"Tag {tag} is {rule.describe()}. Nothing was deleted. {PROTECTION_ADVICE}",
            protected={tag: rule.describe()},
        )
        raise audit.refused("delete-tag", request, name, tag, "", error)
    client = get_client()
    digest = ""
    try:
        digest = client.head_manifest(name, tag).digest  # recorded in the audit log either way
        client.delete_manifest(name, tag)  # registry:3 untags (202); 2.x answers DIGEST_INVALID
    except RegistryRejected as e:
        if is_disabled(e):
            raise audit.refused("delete-tag", request, name, tag, digest, DeletionDisabled(e.body)) from e
        if e.code != "DIGEST_INVALID":
            raise audit.failure("delete-tag", request, name, tag, digest, e) from e
    except RegistryError as e:
        raise audit.failure("delete-tag", request, name, tag, digest, e) from e
    else:
        pruned: tuple[str, ...] = ()
        if prune and digest:
            pruned = _prune_after_tag_delete(client, name, digest)
        _after_delete(name, [tag], *pruned)
        result = DeleteResult(name, digest, removed_tags=(tag,), deleted_manifest=digest if pruned else None)
        audit.record_tag(request, result, tag, by="tag", manifests=pruned)
        return result

    try:
        scan = scan_repository(client, name)
    except RegistryError as e:
        raise audit.failure("delete-tag", request, name, tag, digest, e) from e
    plan = plan_from_scan(scan, [tag], force=force, deletes_tags=False)
    outcome = plan.outcomes[0]
    if outcome.status == Status.NOT_FOUND:
        raise audit.failure("delete-tag", request, name, tag, digest, RegistryNotFound(outcome.detail))
    if outcome.status == Status.REFUSED and outcome.protected_by:
        # Forced on 2.x: another tag of the manifest is protected.
        error = ProtectedTagRefused(
            f"{outcome.detail} Nothing was deleted.", protected={tag: outcome.protected_by}, digest=outcome.digest
        )
        raise audit.refused("delete-tag", request, name, tag, outcome.digest, error)
    if outcome.status == Status.REFUSED:
        error_type = SharedManifest if outcome.shared_with else ReferencedByIndex
        error = error_type(
            outcome.detail,
            digest=outcome.digest,
            shared_with=outcome.shared_with,
            referenced_by=outcome.referenced_by,
        )
        raise audit.refused("delete-tag", request, name, tag, outcome.digest, error)
    try:
        client.delete_manifest(name, outcome.digest)
    except RegistryError as e:
        error = from_registry(e)
        action = "refused" if isinstance(error, DeletionDisabled) else "failed"
        audit.record_error("delete-tag", action, request, name, tag, outcome.digest, error)
        raise error from e
    _after_delete(name, outcome.removed_tags, outcome.digest)
    result = DeleteResult(name, outcome.digest, removed_tags=outcome.removed_tags, deleted_manifest=outcome.digest)
    audit.record_tag(request, result, tag, by="digest", manifests=(outcome.digest,))
    return result


def delete_manifest(name: str, digest: str, *, force: bool = False, request: HttpRequest | None = None) -> DeleteResult:
    """Plan the delete of a manifest by digest and run it; the result lists every tag that went.

    A platform of an index in the same repository is refused (ReferencedByIndex) unless forced;
    a protected tag that would go refuses it whatever ``force`` says.
    """
    try:
        plan = plan_manifest(name, digest, force=force)
    except DeletionFailed as e:
        audit.record_error("delete-manifest", "failed", request, name, "", digest, e)
        raise
    return execute(plan, request)


def _run_manifest(plan: ManifestPlan, request: HttpRequest | None = None) -> DeleteResult:
    """Run a manifest plan: refused as planned (409), else the manifest by digest, then the
    manifests of its attached tags and its artifacts attached by digest (issue 15)."""
    name, digest = plan.repository, plan.digest
    error = plan.refused()
    if error is not None:
        raise audit.refused("delete-manifest", request, name, "", digest, error)
    scan = plan.scan
    assert scan is not None, "a manifest plan runs as read by plan_manifest"
    client = get_client()
    try:
        client.delete_manifest(name, digest)
    except RegistryError as e:
        error = from_registry(e)
        action = "refused" if isinstance(error, DeletionDisabled) else "failed"
        audit.record_error("delete-manifest", action, request, name, "", digest, error)
        raise error from e
    removed = list(scan.tags_of(digest))
    gone = [digest]
    for tag in attached_tags(scan, digest):
        if tag in removed:
            continue
        other = scan.refs[tag].digest
        try:
            client.delete_manifest(name, other)
        except RegistryNotFound:
            pass
        except RegistryError as e:
            _after_delete(name, removed, *gone)
            raise audit.failure("delete-manifest", request, name, tag, other, e) from e
        removed.extend(t for t in scan.tags_of(other) if t not in removed)
        gone.append(other)
    gone.extend(_delete_attached(client, name, plan.attached_by_digest))
    _after_delete(name, removed, *gone)
    result = DeleteResult(name, digest, removed_tags=tuple(removed), deleted_manifest=digest)
    audit.record_manifest(request, result, gone[1:])
    return result
