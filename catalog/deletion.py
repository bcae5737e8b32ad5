"""Deleting tags and manifests without removing more than the user chose.

The registry's own semantics are the trap (distribution#1566): ``DELETE`` by digest removes
the manifest and with it *every* tag pointing to it. registry:3 can delete a tag alone
(``DELETE /v2/<name>/manifests/<tag>`` answers 202, distribution PR #3427); 2.x answers
400 ``DIGEST_INVALID``. We never guess the version from headers: we try and read the answer.

- ``delete_tag``: try the tag delete; on ``DIGEST_INVALID`` resolve the digest, refuse when
  other tags share the manifest (unless forced), else delete by digest.
- ``delete_manifest``: delete by digest and report every tag that went with it.
- ``plan_delete`` / ``execute``: the bulk delete and the confirmation dialogs. The plan is
  computed once and executed as planned, so a dry run shows exactly what the real run does.

A manifest referenced by an index of the same repository (a platform of a multi-arch image)
is never deleted on its own unless forced: the index would point at nothing. Every delete,
refusal and failure is written to the audit log. Dry runs and previews write nothing.

Protected tags (``catalog.protection``) are never deleted, forced or not: a plan marks them
refused (``protected_by`` names the rule), a manifest delete that would take one is refused
whole (409), and so is a bulk delete whose selection holds one. On 2.x, where a tag goes only
with its manifest, a tag sharing its manifest with a protected tag is kept too. The registry
itself knows nothing of these rules: a ``docker`` client or ``curl`` can still delete.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from django.http import HttpRequest

from catalog import protection
from catalog.blobs import content_blobs, invalidate_repository
from catalog.models import ProtectedTag
from core import audit
from inventory import attachments as inventory_attachments
from inventory import sync as inventory_sync
from registry_client import references
from registry_client.client import (
    INDEX_TYPES,
    ManifestRef,
    RegistryClient,
    RegistryError,
    RegistryNotFound,
    RegistryRejected,
    get_client,
)
from registry_client.pool import bounded_map

DISABLED_ADVICE = (
    "The registry refuses deletes (405 UNSUPPORTED): deleting is disabled in its configuration. "
    "Recreate the registry container with -e REGISTRY_STORAGE_DELETE_ENABLED=true (the installation guide's "
    "Intermediate configuration); a restart keeps the old environment, so the container must be "
    "removed and run again with it. Nothing was deleted."
)
READ_ONLY_ADVICE = (
    "The registry is read-only (405 without UNSUPPORTED): a garbage collection in read-only mode is "
    "probably running (see /maintenance/), or the registry was started with "
    "storage.maintenance.readonly enabled. Try again when it is writable. Nothing was deleted."
)


# --- Errors ----------------------------------------------------------------------------


class DeletionError(Exception):
    """A delete that did not happen, with a message the user can act on and the HTTP status."""

    status = 409

    def __init__(
        self,
        message: str,
        *,
        digest: str = "",
        shared_with: Sequence[str] = (),
        referenced_by: Sequence[IndexRef] = (),
        registry_response: str = "",
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.digest = digest
        self.shared_with = list(shared_with)
        self.referenced_by = list(referenced_by)
        self.registry_response = registry_response
        if status is not None:
            self.status = status

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"detail": self.message}
        if self.digest:
            body["digest"] = self.digest
        if self.status == 409:
            body["shared_with"] = self.shared_with
            body["referenced_by"] = [ref.as_dict() for ref in self.referenced_by]
        return body


class InvalidRequest(DeletionError):
    """A delete with a repository name, tag, digest or parameter that is not valid (400, nothing sent)."""

    status = 400


class SharedManifest(DeletionError):
    """Deleting this tag on 2.x would delete the manifest and other tags that point to it."""


class ReferencedByIndex(DeletionError):
    """The manifest is a platform of a multi-arch index in the same repository."""


class ProtectedTagRefused(DeletionError):
    """A protected tag would go: the dashboard refuses the whole delete (409) and names the rule."""

    def __init__(self, message: str, *, protected: Mapping[str, str], digest: str = "") -> None:
        super().__init__(message, digest=digest)
        self.protected = dict(protected)  # tag -> the rule's sentence

    def as_dict(self) -> dict[str, Any]:
        return {
            **super().as_dict(),
            "protected": [{"tag": tag, "protected_by": rule} for tag, rule in sorted(self.protected.items())],
        }


PROTECTION_ADVICE = (
    "The dashboard never deletes a protected tag; an admin can change the rules on the Protected tags page."
)


def _protected_list(protected: Mapping[str, str]) -> str:
    return "; ".join(f"{tag} is {rule}" for tag, rule in sorted(protected.items()))


class DeletionDisabled(DeletionError):
    """The registry refuses deletes: ``storage.delete.enabled: false`` (405 UNSUPPORTED), or it
    runs read-only (a plain-text 405, e.g. during a read-only garbage collection)."""

    def __init__(self, registry_response: str = "") -> None:
        read_only = bool(registry_response) and "UNSUPPORTED" not in registry_response
        advice = READ_ONLY_ADVICE if read_only else DISABLED_ADVICE
        super().__init__(advice, registry_response=registry_response)


class DeletionFailed(DeletionError):
    """The registry could not be reached or answered with an error; ``status`` follows it."""


# --- Validation: the catalog's grammar, as a DeletionError (400) --------------------------


def _checked(validate: Callable[[str], str], value: str) -> str:
    try:
        return validate(value)
    except references.InvalidReference as e:
        raise InvalidRequest(e.message) from e


def validate_name(name: str) -> str:
    return _checked(references.validate_name, name)


def validate_tag(tag: str) -> str:
    return _checked(references.validate_tag, tag)


def validate_digest(digest: str) -> str:
    return _checked(references.validate_digest, digest)


# --- What the repository holds ----------------------------------------------------------


@dataclass(frozen=True)
class IndexRef:
    """An index (multi-arch image) that references a manifest, and the tags naming it."""

    digest: str
    tags: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"digest": self.digest, "tags": list(self.tags)}


@dataclass(frozen=True)
class RepositoryScan:
    """Every tag of a repository resolved to its digest, and what each tagged index contains."""

    name: str
    refs: dict[str, ManifestRef]
    children: dict[str, frozenset[str]]  # index digest -> digests of its manifests[]
    # subject digest -> the artifacts attached to it by digest, no tag of their own: the entries
    # of its referrers index tag (sha256-<hex>) and those the inventory knows from their push.
    by_digest: dict[str, frozenset[str]] = field(default_factory=dict)

    def tags_of(self, digest: str) -> tuple[str, ...]:
        return tuple(sorted(tag for tag, ref in self.refs.items() if ref.digest == digest))

    def indexes_referencing(self, digest: str) -> tuple[IndexRef, ...]:
        return tuple(
            IndexRef(index, self.tags_of(index))
            for index, members in sorted(self.children.items())
            if digest in members and index != digest
        )


def scan_repository(client: RegistryClient, name: str) -> RepositoryScan:
    """HEAD every tag (all four media types, in parallel) and read each tagged index."""
    tags = client.tags(name)

    def head(tag: str) -> ManifestRef | None:
        try:
            return client.head_manifest(name, tag)
        except RegistryNotFound:
            return None  # deleted since the tag list was read

    refs = {tag: ref for tag, ref in zip(tags, bounded_map(head, tags), strict=True) if ref is not None}
    indexes = sorted({ref.digest for ref in refs.values() if ref.media_type in INDEX_TYPES})

    def members(digest: str) -> frozenset[str]:
        try:
            body = client.get_manifest(name, digest).body
        except RegistryNotFound:
            return frozenset()
        return frozenset(str(entry.get("digest", "")) for entry in body.get("manifests") or [])

    children = dict(zip(indexes, bounded_map(members, indexes), strict=True))
    return RepositoryScan(name=name, refs=refs, children=children, by_digest=_by_digest(name, refs, children))


def _by_digest(
    name: str, refs: dict[str, ManifestRef], children: dict[str, frozenset[str]]
) -> dict[str, frozenset[str]]:
    """Per subject its untagged attached artifacts (see ``RepositoryScan.by_digest``)."""
    found: dict[str, set[str]] = {}
    for tag, ref in refs.items():
        attached = references.attached_to(tag)
        if attached is not None and attached[1] == references.REFERRERS:
            found.setdefault(attached[0], set()).update(children.get(ref.digest, frozenset()))
    tagged = {ref.digest for ref in refs.values()}
    platforms = {digest for members in children.values() for digest in members}  # an SBOM may describe one
    for subject, manifests in inventory_attachments.of_subjects(name, tagged | platforms).items():
        found.setdefault(subject, set()).update(m.digest for m in manifests)
    return {subject: frozenset(d for d in digests if d not in tagged) for subject, digests in found.items()}


def registry_deletes_tags(client: RegistryClient, name: str) -> bool:
    """Whether the registry can delete a tag alone (registry:3) or only manifests (2.x).

    Asked by deleting a tag that does not exist, and reading the answer: registry:3 tries to
    untag and answers 404 MANIFEST_UNKNOWN, 2.x wants a digest and answers 400 DIGEST_INVALID,
    and both answer 405 UNSUPPORTED first when deleting is disabled. Nothing is removed.
    """
    probe = f"registry-admin-probe-{uuid.uuid4().hex}"
    try:
        client.delete_manifest(name, probe)
    except RegistryNotFound:
        return True
    except RegistryRejected as e:
        if _is_disabled(e):
            raise DeletionDisabled(e.body) from e
        if e.code == "DIGEST_INVALID":
            return False
        raise
    return True


def _is_disabled(error: RegistryRejected) -> bool:
    return error.registry_status == 405 or error.code == "UNSUPPORTED"


# --- Results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeleteResult:
    """What one delete removed; ``deleted_manifest`` is None when only a tag went."""

    repository: str
    digest: str
    removed_tags: tuple[str, ...]
    deleted_manifest: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"removed_tags": list(self.removed_tags), "deleted_manifest": self.deleted_manifest}


class Status:
    REMOVED = "removed"
    REFUSED = "refused"
    NOT_FOUND = "not_found"
    FAILED = "failed"


@dataclass(frozen=True)
class TagOutcome:
    """What happens (plan) or happened (after ``execute``) to one selected tag."""

    tag: str
    status: str
    digest: str = ""
    removed_tags: tuple[str, ...] = ()
    deleted_manifest: str | None = None
    detail: str = ""
    shared_with: tuple[str, ...] = ()
    referenced_by: tuple[IndexRef, ...] = ()
    registry_response: str = ""
    # Refused because of a protected-tag rule: the rule's sentence (its own, or the one
    # protecting a tag it shares its manifest with on 2.x).
    protected_by: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "status": self.status,
            "digest": self.digest or None,
            "removed_tags": list(self.removed_tags),
            "deleted_manifest": self.deleted_manifest,
            "detail": self.detail,
            "shared_with": list(self.shared_with),
            "referenced_by": [ref.as_dict() for ref in self.referenced_by],
            "protected_by": self.protected_by or None,
        }


@dataclass(frozen=True)
class Step:
    """One DELETE request: a tag (registry:3) or a digest, and the selected tags it removes."""

    reference: str
    selected: tuple[str, ...]


@dataclass(frozen=True)
class DeletePlan:
    """What deleting ``selected`` would do, decided once; ``execute`` runs exactly this."""

    repository: str
    selected: tuple[str, ...]
    force: bool
    deletes_tags: bool
    steps: tuple[Step, ...]
    outcomes: tuple[TagOutcome, ...]
    executed: bool = False
    # registry:3 only: manifests the tag deletes leave untagged (indexes before their platforms).
    # Deleting them too (``prune``) is what lets the next default GC free their bytes.
    prunable: tuple[str, ...] = ()
    # Bytes of the blobs only the deleted (or, on registry:3, pruned) manifests reference in this
    # repository: what the next garbage collection frees at most. None when it could not be read.
    reclaim_bytes: int | None = None
    pruned: tuple[str, ...] = ()
    repository_tags: int = 0  # how many tags the repository had when planned
    # (subject, artifact) for the artifacts attached by digest to a manifest the plan deletes
    # (on registry:3: prunes): deleted with it, after it (issue 15); ``attached_deleted`` once done.
    attached: tuple[tuple[str, str], ...] = ()
    attached_deleted: tuple[str, ...] = ()

    @property
    def takes_every_tag(self) -> bool:
        """The plan removes every tag of the repository (an empty repository stays in the catalog)."""
        return self.repository_tags > 0 and len(self.removed_tags) >= self.repository_tags

    @property
    def frees_space(self) -> bool:
        """Whether the next default garbage collection frees anything of this delete."""
        return bool(self.deleted_manifests) if self.executed or not self.deletes_tags else bool(self.prunable)

    @property
    def removed_tags(self) -> list[str]:
        return sorted({t for o in self.outcomes if o.status == Status.REMOVED for t in o.removed_tags})

    @property
    def deleted_manifests(self) -> list[str]:
        """Digests deleted (or to be deleted), in the order the requests are sent."""
        removed = {o.deleted_manifest for o in self.outcomes if o.status == Status.REMOVED}
        ordered = [step.reference for step in self.steps if step.reference in removed]
        ordered += [digest for digest in self.pruned if digest not in ordered]
        return ordered + [digest for digest in self.attached_deleted if digest not in ordered]

    @property
    def attached_manifests(self) -> list[str]:
        """The artifacts attached by digest that go with their subject (deleted, once executed)."""
        return list(self.attached_deleted) if self.executed else [artifact for _, artifact in self.attached]

    @property
    def refused(self) -> list[TagOutcome]:
        """Outcomes refused for shared tags, an index or a protected tag."""
        return [o for o in self.outcomes if o.status == Status.REFUSED]

    @property
    def forcible(self) -> list[TagOutcome]:
        """Refusals that forcing would change (shared tags, an index); never a protected tag."""
        return [o for o in self.refused if not o.protected_by]

    @property
    def protected(self) -> list[TagOutcome]:
        """Outcomes refused because a protected-tag rule keeps the tag (or, on 2.x, its manifest)."""
        return [o for o in self.outcomes if o.protected_by]

    @property
    def goes_beyond_selection(self) -> bool:
        """A forced plan that removes unselected tags or breaks an index: confirm by typing the name."""
        return any(o.status == Status.REMOVED and (o.shared_with or o.referenced_by) for o in self.outcomes)

    @property
    def fingerprint(self) -> str:
        """Identifies what the plan does: a confirmation runs only if a fresh plan still matches."""
        document = {
            **self.as_dict(),
            "dry_run": None,
            "steps": [step.reference for step in self.steps],
            "reclaimable_bytes": None,  # read through caches: a size is no reason to refuse
        }
        return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()[:32]

    def as_dict(self) -> dict[str, Any]:
        return {
            "repository": self.repository,
            "dry_run": not self.executed,
            "force": self.force,
            "registry_deletes_tags": self.deletes_tags,
            "results": [o.as_dict() for o in self.outcomes],
            "removed_tags": self.removed_tags,
            "deleted_manifests": self.deleted_manifests,
            "prunable_manifests": list(self.prunable),
            "attached_manifests": self.attached_manifests,
            "reclaimable_bytes": self.reclaim_bytes,
        }


# --- Planning -------------------------------------------------------------------------------


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _shared_message(tags: Sequence[str], digest: str, others: Sequence[str]) -> str:
    chosen = ", ".join(tags)
    return (
        f"Tag {chosen} points to manifest {digest}, which tag{'s' if len(others) > 1 else ''} "
        f"{', '.join(others)} also point{'' if len(others) > 1 else 's'} to. This registry deletes a tag only by "
        "deleting its manifest, which would remove those tags too. Select them as well, or force the delete."
    )


def _index_message(digest: str, parents: Sequence[IndexRef]) -> str:
    named = ", ".join(f"{p.digest}" + (f" (tags {', '.join(p.tags)})" if p.tags else "") for p in parents)
    return (
        f"Manifest {digest} is a platform of the multi-arch index {named} in this repository; deleting it "
        "alone would break that index. Delete the index instead, or force the delete."
    )


def plan_from_scan(
    scan: RepositoryScan,
    selected: Sequence[str],
    *,
    force: bool,
    deletes_tags: bool,
    rules: Sequence[ProtectedTag] | None = None,
) -> DeletePlan:
    """Decide, without touching the registry, what deleting the selected tags does.

    Protected tags are refused whatever ``force`` says (``rules``: the protected-tag rules,
    read once by a caller planning many repositories; else one query here).

    Attached artifacts are part of their subject (issue 15): the ``sha256-<hex>.sig|.att|.sbom``
    and ``sha256-<hex>`` referrers tags of a manifest the plan leaves without a tag join the
    plan, each outcome saying so. They never keep their subject alive (they point at their
    own digests), and a subject the plan refuses or keeps keeps them.
    """
    guarded = protection.protected(scan.name, scan.refs, rules=rules)
    plan = _plan_tags(scan, selected, force=force, deletes_tags=deletes_tags, guarded=guarded)
    notes: dict[str, str] = {}
    for _ in range(3):  # a signature's signature: a few levels, not a loop
        added = _attached_to_untagged(scan, plan, notes)
        if not added:
            break
        plan = _plan_tags(scan, (*plan.selected, *added), force=force, deletes_tags=deletes_tags, guarded=guarded)
    plan = replace(plan, attached=_attached_by_digest(scan, plan))
    if not notes:
        return plan
    return replace(
        plan,
        outcomes=tuple(
            replace(o, detail=f"{notes[o.tag]} {o.detail}".strip())
            if o.tag in notes and o.status == Status.REMOVED
            else o
            for o in plan.outcomes
        ),
    )


def _attached_by_digest(scan: RepositoryScan, plan: DeletePlan) -> tuple[tuple[str, str], ...]:
    """(subject, artifact) for the untagged artifacts attached to the manifests the plan deletes."""
    going = plan.prunable if plan.deletes_tags else tuple(plan.deleted_manifests)
    seen = set(going) - set(plan.prunable)  # a referrers index's entries are prunable: still theirs
    found: list[tuple[str, str]] = []
    for subject in going:
        for artifact in sorted(scan.by_digest.get(subject, ())):
            if artifact not in seen:
                seen.add(artifact)
                found.append((subject, artifact))
    return tuple(found)


def _attached_to_untagged(scan: RepositoryScan, plan: DeletePlan, notes: dict[str, str]) -> list[str]:
    """Attached tags not yet in ``plan`` whose subject loses every tag by it (noted in ``notes``)."""
    removed = {tag for o in plan.outcomes if o.status == Status.REMOVED for tag in o.removed_tags}
    untagged = {
        ref.digest for tag, ref in scan.refs.items() if tag in removed and set(scan.tags_of(ref.digest)) <= removed
    }
    added = []
    for tag in sorted(scan.refs):
        subject = references.attached_to(tag)
        if subject is None or subject[0] not in untagged:
            continue
        # Noted when selected too: the dialog confirms with every tag of the preview selected,
        # and the plan it runs must read (and fingerprint) as the preview did.
        subject_tags = ", ".join(scan.tags_of(subject[0]))
        notes[tag] = f"Attached to {subject_tags} ({subject[0][:19]}): deleted with it."
        if tag not in plan.selected and tag not in removed:
            added.append(tag)
    return added


def _protected_outcome(tag: str, digest: str, rule: ProtectedTag) -> TagOutcome:
    return TagOutcome(
        tag,
        Status.REFUSED,
        digest=digest,
        detail=f"Tag {tag} is {rule.describe()}. {PROTECTION_ADVICE}",
        protected_by=rule.describe(),
    )


def _plan_tags(
    scan: RepositoryScan,
    selected: Sequence[str],
    *,
    force: bool,
    deletes_tags: bool,
    guarded: Mapping[str, ProtectedTag],
) -> DeletePlan:
    selection = _unique(selected)
    outcomes: dict[str, TagOutcome] = {}
    steps: list[Step] = []
    missing = [tag for tag in selection if tag not in scan.refs]
    for tag in missing:
        outcomes[tag] = TagOutcome(tag, Status.NOT_FOUND, detail=f"{scan.name}:{tag} does not exist in the registry.")
    present = [tag for tag in selection if tag in scan.refs]

    if deletes_tags:
        # registry:3 removes only the tag: the manifest and its other tags stay, nothing can break.
        for tag in present:
            if tag in guarded:
                outcomes[tag] = _protected_outcome(tag, scan.refs[tag].digest, guarded[tag])
                continue
            steps.append(Step(tag, (tag,)))
            outcomes[tag] = TagOutcome(tag, Status.REMOVED, digest=scan.refs[tag].digest, removed_tags=(tag,))
        plan = _plan(scan, selection, force, deletes_tags, steps, outcomes)
        return replace(plan, prunable=left_untagged(scan, [tag for tag in present if tag not in guarded]))

    groups: dict[str, list[str]] = {}
    for tag in present:
        groups.setdefault(scan.refs[tag].digest, []).append(tag)

    refusals: dict[str, TagOutcome] = {}
    kept_by_rule: dict[str, TagOutcome] = {}
    for digest, tags in groups.items():
        # 2.x deletes a tag only with its manifest: a protected tag on it keeps every tag on it.
        keepers = {t: guarded[t] for t in scan.tags_of(digest) if t in guarded}
        if keepers:
            refusals[digest] = TagOutcome("", Status.REFUSED, digest=digest)
            for tag in tags:
                if tag in keepers:
                    kept_by_rule[tag] = _protected_outcome(tag, digest, keepers[tag])
                    continue
                other, rule = next(iter(sorted(keepers.items())))
                kept_by_rule[tag] = TagOutcome(
                    tag,
                    Status.REFUSED,
                    digest=digest,
                    detail=(
                        f"Tag {tag} points to manifest {digest}, which tag {other} also points to, and {other} is "
                        f"{rule.describe()}. This registry deletes a tag only with its manifest, so {tag} stays."
                    ),
                    shared_with=tuple(t for t in scan.tags_of(digest) if t not in selection),
                    protected_by=rule.describe(),
                )
            continue
        others = tuple(t for t in scan.tags_of(digest) if t not in selection)
        if others and not force:
            refusals[digest] = TagOutcome(
                "", Status.REFUSED, digest=digest, detail=_shared_message(tags, digest, others), shared_with=others
            )

    # Indexes go before their platforms; a platform may go when every index naming it goes too.
    deleting: list[str] = []
    waiting = [d for d in groups if d not in refusals]
    progress = True
    while waiting and progress:
        progress = False
        for digest in list(waiting):
            if all(p.digest in deleting for p in scan.indexes_referencing(digest)):
                deleting.append(digest)
                waiting.remove(digest)
                progress = True
    for digest in waiting:
        blocking = tuple(p for p in scan.indexes_referencing(digest) if p.digest not in deleting)
        if force:
            deleting.append(digest)
        else:
            refusals[digest] = TagOutcome(
                "", Status.REFUSED, digest=digest, detail=_index_message(digest, blocking), referenced_by=blocking
            )

    for digest in deleting:
        tags = groups[digest]
        steps.append(Step(digest, tuple(tags)))
        removed = scan.tags_of(digest)
        # Only a forced plan goes beyond the selection; say so on the outcome.
        beyond = tuple(t for t in removed if t not in selection)
        broken = tuple(p for p in scan.indexes_referencing(digest) if p.digest not in deleting)
        detail = ""
        if beyond:
            detail = f"Forced: also removes {', '.join(beyond)}."
        if broken:
            detail = f"{detail} Forced: this breaks the index {', '.join(p.digest for p in broken)}.".strip()
        for tag in tags:
            outcomes[tag] = TagOutcome(
                tag,
                Status.REMOVED,
                digest=digest,
                removed_tags=removed,
                deleted_manifest=digest,
                detail=detail,
                shared_with=beyond,
                referenced_by=broken,
            )
    for digest, refusal in refusals.items():
        for tag in groups[digest]:
            if tag in kept_by_rule:
                outcomes[tag] = kept_by_rule[tag]
                continue
            outcomes[tag] = TagOutcome(
                tag,
                Status.REFUSED,
                digest=digest,
                detail=refusal.detail,
                shared_with=refusal.shared_with,
                referenced_by=refusal.referenced_by,
            )
    return _plan(scan, selection, force, deletes_tags, steps, outcomes)


def left_untagged(scan: RepositoryScan, removed: Iterable[str]) -> tuple[str, ...]:
    """The manifests that removing the tags ``removed`` leaves without a tag, safe to delete by digest.

    A manifest qualifies when every tag naming it goes and no index that stays lists it; an
    index brings its platforms along when no tag or other remaining index names them (registry:3
    keeps every manifest revision it has, so a default GC frees nothing until they are deleted).
    Indexes come before their platforms, the order in which they can be deleted.
    """
    gone = set(removed)
    untagged = {d for d in {scan.refs[t].digest for t in gone if t in scan.refs} if set(scan.tags_of(d)) <= gone}
    tagged = {ref.digest for tag, ref in scan.refs.items() if tag not in gone}
    indexes = [d for d in sorted(untagged) if d in scan.children]
    children = {child for index in indexes for child in scan.children[index]}
    staying_indexes = {d for d in scan.children if d not in untagged}

    def kept_by_an_index(digest: str) -> bool:
        return any(digest in scan.children[index] for index in staying_indexes)

    ordered = [d for d in indexes if not kept_by_an_index(d)]
    candidates = sorted((untagged - set(indexes)) | {c for c in children if c not in tagged})
    ordered += [d for d in candidates if not kept_by_an_index(d) and d not in ordered]
    return tuple(ordered)


def _plan(
    scan: RepositoryScan,
    selection: tuple[str, ...],
    force: bool,
    deletes_tags: bool,
    steps: list[Step],
    outcomes: dict[str, TagOutcome],
) -> DeletePlan:
    return DeletePlan(
        repository=scan.name,
        selected=selection,
        force=force,
        deletes_tags=deletes_tags,
        steps=tuple(steps),
        outcomes=tuple(outcomes[tag] for tag in selection),
        repository_tags=len(scan.refs),
    )


def plan_delete(name: str, tags: Sequence[str], *, force: bool = False) -> DeletePlan:
    """Read the repository and decide what deleting ``tags`` would do (no audit entry).

    Raises DeletionDisabled when the registry refuses deletes, DeletionFailed when it cannot
    be read, InvalidRequest for a bad name or tag.
    """
    validate_name(name)
    for tag in tags:
        validate_tag(tag)
    client = get_client()
    try:
        deletes_tags = registry_deletes_tags(client, name)
        scan = scan_repository(client, name)
    except RegistryError as e:
        raise _failed(e) from e
    plan = plan_from_scan(scan, tags, force=force, deletes_tags=deletes_tags)
    return replace(plan, reclaim_bytes=reclaimable_bytes(plan, scan))


def reclaimable_bytes(plan: DeletePlan, scan: RepositoryScan) -> int | None:
    """What the next garbage collection frees at most once the plan ran (with ``prune`` on registry:3).

    The blobs (config and layers, for an index those of its platforms) of the tags whose
    manifests go, less the blobs a remaining tag of the repository still references. Blobs
    another repository shares stay too, so this is an upper bound; for an image pushed once
    it is exact. On 2.x an index goes without its platforms: only its own manifest is freed.
    None when the registry cannot be read.
    """
    going = set(plan.deleted_manifests) if not plan.deletes_tags else set(plan.prunable)
    if not going:
        return 0
    try:
        blobs = content_blobs(plan.repository)
    except RegistryError:
        return None
    freed: dict[str, int] = {}
    kept: set[str] = set()
    for tag, referenced in blobs.items():
        ref = scan.refs.get(tag)
        if ref is None:
            continue
        if ref.digest in going and (plan.deletes_tags or ref.media_type not in INDEX_TYPES):
            freed.update(referenced)
        elif ref.digest not in going:
            kept.update(referenced)
    return sum(size for blob, size in freed.items() if blob not in kept)


# --- Executing ------------------------------------------------------------------------------


def execute(plan: DeletePlan, request: HttpRequest | None = None, *, prune: bool = False) -> DeletePlan:
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
            error = DeletionDisabled(e.body) if isinstance(e, RegistryRejected) and _is_disabled(e) else _failed(e)
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
        _record_outcome(done, outcome, request)
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


def scan_children(client: RegistryClient, name: str, digest: str) -> frozenset[str]:
    """The manifests an index lists (empty for an image or a manifest already gone)."""
    try:
        manifest = client.get_manifest(name, digest)
    except RegistryError:
        return frozenset()
    if manifest.media_type not in INDEX_TYPES:
        return frozenset()
    return frozenset(str(entry.get("digest", "")) for entry in manifest.body.get("manifests") or [])


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
        plan = plan_delete(name, tags, force=force)
    except (DeletionDisabled, DeletionFailed) as e:
        if not dry_run:
            outcome = "refused" if isinstance(e, DeletionDisabled) else "failed"
            for tag in _unique(tags):
                audit.record(
                    action="delete-tag",
                    outcome=outcome,
                    request=request,
                    repository=name,
                    tag=tag,
                    detail=(f"One of {len(_unique(tags))} tags deleted together: " if len(_unique(tags)) > 1 else "")
                    + e.message,
                    registry_response=e.registry_response,
                )
        raise
    if dry_run:
        return plan
    refuse_protected(plan, tags, request)
    return execute(plan, request, prune=prune)


def refuse_protected(plan: DeletePlan, selected: Sequence[str], request: HttpRequest | None = None) -> None:
    """Refuse a bulk delete whose selection holds a protected tag (or, on 2.x, a tag sharing its
    manifest with one): ProtectedTagRefused (409), nothing deleted, each selected tag audited as
    refused. The dry run lists them instead (``protected_by`` on their outcomes)."""
    chosen = _unique(selected)
    kept = {o.tag: o.protected_by for o in plan.protected if o.tag in chosen}
    if not kept:
        return
    names = ", ".join(sorted(kept))
    message = (
        f"Nothing was deleted: the selection holds {len(kept)} protected tag{'s' if len(kept) > 1 else ''} "
        f"({names}); {_protected_list(kept)}. Deselect {'them' if len(kept) > 1 else 'it'} to delete the rest. "
        f"{PROTECTION_ADVICE}"
    )
    error = ProtectedTagRefused(message, protected=kept)
    for tag in chosen:
        outcome = next((o for o in plan.outcomes if o.tag == tag), None)
        _record_error("delete-tag", "refused", request, plan.repository, tag, outcome.digest if outcome else "", error)
    raise error


def delete_tag(
    name: str, tag: str, *, force: bool = False, prune: bool = False, request: HttpRequest | None = None
) -> DeleteResult:
    """Delete one tag: by tag where the registry can (registry:3), else by digest if it is alone.

    With ``prune`` on registry:3, a manifest the tag delete left untagged is deleted too (with
    the platforms of an index no other tag names), so the next garbage collection frees it;
    ``deleted_manifest`` then names it. On 2.x a tag alone already goes with its manifest.

    Raises SharedManifest (409) when other tags share the manifest on 2.x and ``force`` is
    not set, ReferencedByIndex (409), DeletionDisabled (409), DeletionFailed, InvalidRequest.
    """
    validate_name(name)
    validate_tag(tag)
    rule = protection.protecting_rule(name, tag)
    if rule is not None:  # refused before any registry request: nothing can go
        error: DeletionError = ProtectedTagRefused(
            f"Tag {tag} is {rule.describe()}. Nothing was deleted. {PROTECTION_ADVICE}",
            protected={tag: rule.describe()},
        )
        raise _refused("delete-tag", request, name, tag, "", error)
    client = get_client()
    digest = ""
    try:
        digest = client.head_manifest(name, tag).digest  # recorded in the audit log either way
        client.delete_manifest(name, tag)  # registry:3 untags (202); 2.x answers DIGEST_INVALID
    except RegistryRejected as e:
        if _is_disabled(e):
            raise _refused("delete-tag", request, name, tag, digest, DeletionDisabled(e.body)) from e
        if e.code != "DIGEST_INVALID":
            raise _failure("delete-tag", request, name, tag, digest, e) from e
    except RegistryError as e:
        raise _failure("delete-tag", request, name, tag, digest, e) from e
    else:
        pruned: tuple[str, ...] = ()
        if prune and digest:
            pruned = _prune_after_tag_delete(client, name, digest)
        _after_delete(name, [tag], *pruned)
        result = DeleteResult(name, digest, removed_tags=(tag,), deleted_manifest=digest if pruned else None)
        detail = (
            f"Deleted tag {tag}, then its manifest {digest}, which no tag named any more"
            + (
                f" (with {len(pruned) - 1} platform manifest{'s' if len(pruned) > 2 else ''})"
                if len(pruned) > 1
                else ""
            )
            + "."
            if pruned
            else f"Deleted tag {tag} only; its manifest {digest} stays."
        )
        _record_result("delete-tag", request, name, tag, result, detail)
        return result

    try:
        scan = scan_repository(client, name)
    except RegistryError as e:
        raise _failure("delete-tag", request, name, tag, digest, e) from e
    plan = plan_from_scan(scan, [tag], force=force, deletes_tags=False)
    outcome = plan.outcomes[0]
    if outcome.status == Status.NOT_FOUND:
        raise _failure("delete-tag", request, name, tag, digest, RegistryNotFound(outcome.detail))
    if outcome.status == Status.REFUSED and outcome.protected_by:
        # Forced on 2.x: another tag of the manifest is protected.
        error = ProtectedTagRefused(
            f"{outcome.detail} Nothing was deleted.", protected={tag: outcome.protected_by}, digest=outcome.digest
        )
        raise _refused("delete-tag", request, name, tag, outcome.digest, error)
    if outcome.status == Status.REFUSED:
        error_type = SharedManifest if outcome.shared_with else ReferencedByIndex
        error = error_type(
            outcome.detail,
            digest=outcome.digest,
            shared_with=outcome.shared_with,
            referenced_by=outcome.referenced_by,
        )
        raise _refused("delete-tag", request, name, tag, outcome.digest, error)
    try:
        client.delete_manifest(name, outcome.digest)
    except RegistryRejected as e:
        if _is_disabled(e):
            raise _refused("delete-tag", request, name, tag, outcome.digest, DeletionDisabled(e.body)) from e
        raise _failure("delete-tag", request, name, tag, outcome.digest, e) from e
    except RegistryError as e:
        raise _failure("delete-tag", request, name, tag, outcome.digest, e) from e
    _after_delete(name, outcome.removed_tags, outcome.digest)
    result = DeleteResult(name, outcome.digest, removed_tags=outcome.removed_tags, deleted_manifest=outcome.digest)
    forced = [t for t in outcome.removed_tags if t != tag]
    _record_result(
        "delete-tag",
        request,
        name,
        tag,
        result,
        f"Deleted manifest {outcome.digest}"
        + (f", forced: with it tags {', '.join(forced)}." if forced else " (it had no other tag)."),
    )
    return result


def delete_manifest(name: str, digest: str, *, force: bool = False, request: HttpRequest | None = None) -> DeleteResult:
    """Delete a manifest by digest; the result lists every tag that pointed to it.

    A platform of an index in the same repository is refused (ReferencedByIndex) unless forced.
    """
    validate_name(name)
    validate_digest(digest)
    client = get_client()
    try:
        client.head_manifest(name, digest)
        scan = scan_repository(client, name)
    except RegistryError as e:
        raise _failure("delete-manifest", request, name, "", digest, e) from e
    guarded = _protected_with(scan, digest)
    if guarded:
        error: DeletionError = ProtectedTagRefused(
            _protected_manifest_message(digest, guarded), protected=guarded, digest=digest
        )
        raise _refused("delete-manifest", request, name, "", digest, error)
    parents = scan.indexes_referencing(digest)
    if parents and not force:
        error = ReferencedByIndex(_index_message(digest, parents), digest=digest, referenced_by=parents)
        raise _refused("delete-manifest", request, name, "", digest, error)
    try:
        client.delete_manifest(name, digest)
    except RegistryRejected as e:
        if _is_disabled(e):
            raise _refused("delete-manifest", request, name, "", digest, DeletionDisabled(e.body)) from e
        raise _failure("delete-manifest", request, name, "", digest, e) from e
    except RegistryError as e:
        raise _failure("delete-manifest", request, name, "", digest, e) from e
    removed = list(scan.tags_of(digest))
    gone = [digest]
    # Its attached artifacts go with it (issue 15), each by its own digest.
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
            raise _failure("delete-manifest", request, name, tag, other, e) from e
        removed.extend(t for t in scan.tags_of(other) if t not in removed)
        gone.append(other)
    gone.extend(_delete_attached(client, name, sorted(scan.by_digest.get(digest, ()))))
    _after_delete(name, removed, *gone)
    result = DeleteResult(name, digest, removed_tags=tuple(removed), deleted_manifest=digest)
    tags = ", ".join(result.removed_tags) or "none"
    also = f" With it {_artifacts(gone[1:])}: {', '.join(gone[1:])}." if gone[1:] else ""
    _record_result(
        "delete-manifest", request, name, "", result, f"Deleted manifest {digest}; tags removed: {tags}.{also}"
    )
    return result


def _protected_with(scan: RepositoryScan, digest: str) -> dict[str, str]:
    """The protected tags a manifest delete would take (its tags and its attached tags), with their rules."""
    going = (*scan.tags_of(digest), *attached_tags(scan, digest))
    return {tag: rule.describe() for tag, rule in protection.protected(scan.name, going).items()}


def _protected_manifest_message(digest: str, guarded: Mapping[str, str]) -> str:
    return (
        f"Deleting manifest {digest} would remove {'tags' if len(guarded) > 1 else 'tag'} "
        f"{', '.join(sorted(guarded))}, and {_protected_list(guarded)}. Nothing was deleted. {PROTECTION_ADVICE}"
    )


@dataclass(frozen=True)
class ManifestPreview:
    """What deleting a manifest by digest would remove, for the confirmation dialog."""

    repository: str
    digest: str
    tags: tuple[str, ...]
    referenced_by: tuple[IndexRef, ...]
    attached: tuple[str, ...] = ()  # its signature, attestation, SBOM and referrers tags: they go too
    attached_by_digest: tuple[str, ...] = ()  # its artifacts without a tag (scan.by_digest): they go too
    protected: tuple[tuple[str, str], ...] = ()  # (tag, rule) of the protected tags it would take: refused

    @property
    def refusal(self) -> str:
        """Why the delete is refused (a protected tag would go), or ""."""
        return _protected_manifest_message(self.digest, dict(self.protected)) if self.protected else ""

    @property
    def fingerprint(self) -> str:
        document = [
            self.digest,
            self.tags,
            [ref.as_dict() for ref in self.referenced_by],
            self.attached,
            self.protected,
            *([self.attached_by_digest] if self.attached_by_digest else []),
        ]
        return hashlib.sha256(json.dumps(document).encode()).hexdigest()[:32]


def preview_manifest(name: str, digest: str) -> ManifestPreview:
    """The tags a manifest delete would remove and the indexes that reference it (no audit).

    Raises DeletionDisabled up front when the registry refuses deletes.
    """
    validate_name(name)
    validate_digest(digest)
    client = get_client()
    try:
        client.head_manifest(name, digest)
        registry_deletes_tags(client, name)
        scan = scan_repository(client, name)
    except RegistryError as e:
        raise _failed(e) from e
    tags = scan.tags_of(digest)
    attached = tuple(tag for tag in attached_tags(scan, digest) if tag not in tags)
    guarded = tuple(sorted(_protected_with(scan, digest).items()))
    by_digest = tuple(sorted(scan.by_digest.get(digest, ())))
    return ManifestPreview(
        name, digest, tags, scan.indexes_referencing(digest), attached, attached_by_digest=by_digest, protected=guarded
    )


def attached_tags(scan: RepositoryScan, digest: str) -> tuple[str, ...]:
    """The sha256-<hex>.sig|.att|.sbom and sha256-<hex> tags attached to ``digest``."""
    return tuple(
        tag for tag in sorted(scan.refs) if (found := references.attached_to(tag)) is not None and found[0] == digest
    )


def _after_delete(name: str, removed_tags: Sequence[str], *digests: str) -> None:
    """Drop what the catalog caches and the inventory holds of what went: its pages show the
    registry as it is now, without waiting for the registry's event or the next sync."""
    inventory_sync.forget(name, removed_tags, digests)
    invalidate_repository(name)


# --- Audit --------------------------------------------------------------------------------


def _failed(error: RegistryError) -> DeletionFailed:
    body = getattr(error, "body", "") or (
        f"{error.registry_status}: {error.message}" if error.registry_status else error.message
    )
    return DeletionFailed(error.message, status=error.status, registry_response=body)


def _failure(
    action: str, request: HttpRequest | None, name: str, tag: str, digest: str, error: RegistryError
) -> DeletionFailed:
    failed = _failed(error)
    _record_error(action, "failed", request, name, tag, digest, failed)
    return failed


def _refused(
    action: str, request: HttpRequest | None, name: str, tag: str, digest: str, error: DeletionError
) -> DeletionError:
    _record_error(action, "refused", request, name, tag, digest or error.digest, error)
    return error


def _record_error(
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


def _record_result(
    action: str, request: HttpRequest | None, name: str, tag: str, result: DeleteResult, detail: str
) -> None:
    audit.record(
        action=action,
        outcome="succeeded",
        request=request,
        repository=name,
        tag=tag,
        digest=result.digest,
        detail=detail,
    )


_AUDIT_OUTCOME = {
    Status.REMOVED: "succeeded",
    Status.REFUSED: "refused",
    Status.NOT_FOUND: "failed",
    Status.FAILED: "failed",
}


def _describe(plan: DeletePlan, outcome: TagOutcome) -> str:
    """A plain sentence; a delete of several tags says so, a single delete is just a delete."""
    count = len(plan.selected)
    prefix = f"One of {count} tags deleted together" if count > 1 else ""
    if plan.force:
        prefix = f"{prefix}, forced" if prefix else "Forced"
    if outcome.status != Status.REMOVED:
        sentence = outcome.detail
    elif outcome.deleted_manifest and plan.deletes_tags:
        sentence = (
            f"deleted tag {outcome.tag}, then its manifest {outcome.deleted_manifest}, which no tag named any more."
        )
    elif outcome.deleted_manifest:
        sentence = f"deleted manifest {outcome.deleted_manifest} with tags {', '.join(outcome.removed_tags)}."
    else:
        sentence = f"deleted tag {outcome.tag} only; its manifest stays."
    attached = [a for s, a in plan.attached if s == outcome.deleted_manifest and a in plan.attached_deleted]
    if outcome.status == Status.REMOVED and attached:
        sentence += f" With it {_artifacts(attached)} (by digest): {', '.join(attached)}."
    return f"{prefix}: {sentence}" if prefix else sentence[:1].upper() + sentence[1:]


def _artifacts(digests: Sequence[str]) -> str:
    """The audit's words for artifacts gone with their subject (read by maintenance.gc_requests)."""
    return f"{len(digests)} attached artifact{'' if len(digests) == 1 else 's'}"


def _record_outcome(plan: DeletePlan, outcome: TagOutcome, request: HttpRequest | None) -> None:
    audit.record(
        action="delete-tag",
        outcome=_AUDIT_OUTCOME[outcome.status],
        request=request,
        repository=plan.repository,
        tag=outcome.tag,
        digest=outcome.digest,
        detail=_describe(plan, outcome),
        registry_response=outcome.registry_response,
    )
