"""The audit entries of deletes: what went, recorded as fields, and the sentence read from them.

A succeeded delete records in ``AuditEntry.fields`` what it removed:

- ``by``: ``"tag"`` (registry:3 untagged it) or ``"digest"`` (its manifest was deleted);
- ``removed_tags``: the tags that went;
- ``deleted_manifests``: the manifests it deleted, its own first, then the platforms of an
  index pruned with it (empty when only the tag went);
- ``attached``: the artifacts that went with their subject (issue 15), each by its digest;
- ``forced``: whether the user forced it; ``selected``: how many tags the selection held
  (only for a selection: the bulk delete, the dialogs, retention).

``maintenance.gc_requests`` reads these fields to say what a garbage collection freed; the
Audit page shows the sentence ``describe`` makes of them (stored as ``detail``). Refusals and
failures record the error's message and the registry's answer, and no fields.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.http import HttpRequest

from catalog.deletion.errors import DeletionError, DeletionFailed, failed
from catalog.deletion.plan import DeletePlan, DeleteResult, Status, TagOutcome
from core import audit
from registry_client.client import RegistryError


def _artifacts(digests: Sequence[str]) -> str:
    return f"{len(digests)} attached artifact{'' if len(digests) == 1 else 's'}"


def describe(action: str, tag: str, digest: str, fields: Mapping[str, Any]) -> str:
    """The Audit page's sentence for a succeeded delete, from its fields."""
    removed = list(fields.get("removed_tags") or ())
    manifests = list(fields.get("deleted_manifests") or ())
    attached = list(fields.get("attached") or ())
    if action == "delete-manifest":
        also = f" With it {_artifacts(attached)}: {', '.join(attached)}." if attached else ""
        return f"Deleted manifest {digest}; tags removed: {', '.join(removed) or 'none'}.{also}"
    selected = fields.get("selected")
    if selected is None:  # one tag, DELETE .../tags/<tag>/
        if fields.get("by") == "digest":
            forced = [t for t in removed if t != tag]
            return f"Deleted manifest {digest}" + (
                f", forced: with it tags {', '.join(forced)}." if forced else " (it had no other tag)."
            )
        if not manifests:
            return f"Deleted tag {tag} only; its manifest {digest} stays."
        platforms = len(manifests) - 1
        return (
            f"Deleted tag {tag}, then its manifest {digest}, which no tag named any more"
            + (f" (with {platforms} platform manifest{'s' if platforms > 1 else ''})" if platforms else "")
            + "."
        )
    # One tag of a selection: a delete of several tags says so, a single delete is just a delete.
    prefix = f"One of {selected} tags deleted together" if selected > 1 else ""
    if fields.get("forced"):
        prefix = f"{prefix}, forced" if prefix else "Forced"
    if manifests and fields.get("by") == "tag":
        sentence = f"deleted tag {tag}, then its manifest {manifests[0]}, which no tag named any more."
    elif manifests:
        sentence = f"deleted manifest {manifests[0]} with tags {', '.join(removed)}."
    else:
        sentence = f"deleted tag {tag} only; its manifest stays."
    if attached:
        sentence += f" With it {_artifacts(attached)} (by digest): {', '.join(attached)}."
    return f"{prefix}: {sentence}" if prefix else sentence[:1].upper() + sentence[1:]


def record_deleted(
    action: str, request: HttpRequest | None, name: str, tag: str, digest: str, fields: dict[str, Any]
) -> None:
    """A succeeded delete: its fields, and the sentence made of them."""
    audit.record(
        action=action,
        outcome="succeeded",
        request=request,
        repository=name,
        tag=tag,
        digest=digest,
        detail=describe(action, tag, digest, fields),
        fields=fields,
    )


def record_error(
    action: str, outcome: str, request: HttpRequest | None, name: str, tag: str, digest: str, error: DeletionError
) -> None:
    """An audit entry for a delete that did not happen, with the registry's answer."""
    audit.record(
        action=action,
        outcome=outcome,
        request=request,
        repository=name,
        tag=tag,
        digest=digest,
        detail=error.message,
        registry_response=error.registry_response,
    )


def failure(
    action: str, request: HttpRequest | None, name: str, tag: str, digest: str, error: RegistryError
) -> DeletionFailed:
    """The registry's error as a DeletionFailed, audited as failed."""
    error_ = failed(error)
    record_error(action, "failed", request, name, tag, digest, error_)
    return error_


def refused(
    action: str, request: HttpRequest | None, name: str, tag: str, digest: str, error: DeletionError
) -> DeletionError:
    """``error``, audited as refused."""
    record_error(action, "refused", request, name, tag, digest or error.digest, error)
    return error


def record_tag(
    request: HttpRequest | None, result: DeleteResult, tag: str, *, by: str, manifests: Sequence[str] = ()
) -> None:
    """One tag deleted through DELETE .../tags/<tag>/."""
    fields = {"by": by, "removed_tags": list(result.removed_tags), "deleted_manifests": list(manifests), "attached": []}
    record_deleted("delete-tag", request, result.repository, tag, result.digest, fields)


def record_manifest(request: HttpRequest | None, result: DeleteResult, attached: Sequence[str]) -> None:
    """A manifest deleted by digest, with the artifacts that went with it."""
    fields = {
        "by": "digest",
        "removed_tags": list(result.removed_tags),
        "deleted_manifests": [result.digest],
        "attached": list(attached),
    }
    record_deleted("delete-manifest", request, result.repository, "", result.digest, fields)


_OUTCOME = {
    Status.REMOVED: "succeeded",
    Status.REFUSED: "refused",
    Status.NOT_FOUND: "failed",
    Status.FAILED: "failed",
}


def _selection_prefix(plan: DeletePlan) -> str:
    count = len(plan.selected)
    prefix = f"One of {count} tags deleted together" if count > 1 else ""
    if plan.force:
        prefix = f"{prefix}, forced" if prefix else "Forced"
    return prefix


def record_outcome(plan: DeletePlan, outcome: TagOutcome, request: HttpRequest | None) -> None:
    """One selected tag of an executed plan."""
    if outcome.status == Status.REMOVED:
        manifest = outcome.deleted_manifest
        fields = {
            "by": "tag" if plan.deletes_tags else "digest",
            "removed_tags": list(outcome.removed_tags),
            "deleted_manifests": [manifest] if manifest else [],
            "attached": [a for s, a in plan.attached if s == manifest and a in plan.attached_deleted],
            "forced": plan.force,
            "selected": len(plan.selected),
        }
        record_deleted("delete-tag", request, plan.repository, outcome.tag, outcome.digest, fields)
        return
    prefix = _selection_prefix(plan)
    detail = f"{prefix}: {outcome.detail}" if prefix else outcome.detail[:1].upper() + outcome.detail[1:]
    audit.record(
        action="delete-tag",
        outcome=_OUTCOME[outcome.status],
        request=request,
        repository=plan.repository,
        tag=outcome.tag,
        digest=outcome.digest,
        detail=detail,
        registry_response=outcome.registry_response,
    )


def record_selection_error(request: HttpRequest | None, name: str, tags: Sequence[str], error: DeletionError) -> None:
    """A selection that could not even be planned (deletes disabled, registry unreadable): each tag
    audited as refused or failed."""
    outcome = "refused" if not isinstance(error, DeletionFailed) else "failed"
    for tag in tags:
        audit.record(
            action="delete-tag",
            outcome=outcome,
            request=request,
            repository=name,
            tag=tag,
            detail=(f"One of {len(tags)} tags deleted together: " if len(tags) > 1 else "") + error.message,
            registry_response=error.registry_response,
        )
