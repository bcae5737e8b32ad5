"""One plan per delete (``Plan``), decided before anything is sent, with the fingerprint of what it does.

- a selection of tags (the bulk delete, the tag dialogs, retention, and the single-tag delete
  on 2.x), a ``DeletePlan``: ``plan_delete`` reads the repository, ``plan_from_scan`` decides;
- a manifest by digest (the image page and the API), a ``ManifestPlan``: ``plan_manifest``.

The preview shows the plan, the confirmation sends its fingerprint back and runs only if a
fresh plan still matches: a preview the registry has moved past is refused. Planning writes no
audit entry and deletes nothing (the only request that is not a read is the harmless probe of
``registry_deletes_tags``).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from catalog import protection
from catalog.blobs import content_blobs
from catalog.deletion.errors import (
    PROTECTION_ADVICE,
    DeletionDisabled,
    DeletionError,
    ProtectedTagRefused,
    ReferencedByIndex,
    failed,
    is_disabled,
    protected_list,
    validate_digest,
    validate_name,
    validate_tag,
)
from catalog.deletion.scan import IndexRef, RepositoryScan, attached_tags, scan_repository
from catalog.models import ProtectedTag
from inventory import services as inventory_services
from inventory import storage
from inventory.models import Manifest, Tag
from registry_client import references
from registry_client.client import (
    INDEX_TYPES,
    RegistryClient,
    RegistryError,
    RegistryNotFound,
    RegistryRejected,
    get_client,
)


def fingerprint(document: Any) -> str:
    """Identifies what a plan does: a confirmation runs only if a fresh plan still matches."""
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()[:32]


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
        if is_disabled(e):
            raise DeletionDisabled(e.body) from e
        if e.code == "DIGEST_INVALID":
            return False
        raise
    return True


# --- Results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeleteResult:
    """What one delete removed; ``deleted_manifest`` is None when only a tag went."""

    repository: str
    digest: str
    removed_tags: tuple[str, ...]
    deleted_manifest: str | None


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
class Plan:
    """Every delete's plan, decided before anything is sent; ``execute`` runs any plan, exactly as
    planned. Its ``fingerprint`` identifies what it does: the preview shows a plan, and the
    confirmation runs only if a fresh plan of the same delete still has the same fingerprint.

    Two shapes, for what the user names: ``DeletePlan``, a selection of tags (the bulk delete,
    the tag dialogs, retention, one tag on 2.x), and ``ManifestPlan``, a manifest by digest with
    every tag and attached artifact that goes with it.
    """

    repository: str

    def fingerprint_document(self) -> Any:
        """What the fingerprint is taken of: every decision of the plan, nothing read through caches."""
        raise NotImplementedError

    @property
    def fingerprint(self) -> str:
        """Identifies what the plan does: a confirmation runs only if a fresh plan still matches."""
        return fingerprint(self.fingerprint_document())


@dataclass(frozen=True)
class DeletePlan(Plan):
    """What deleting ``selected`` would do, decided once; ``execute`` runs exactly this."""

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
    # Set by ``preview_delete`` when the inventory could not vouch for itself and the repository
    # was read into it from the registry first: what the preview says it did (not fingerprinted).
    refreshed: str = ""

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

    def fingerprint_document(self) -> dict[str, Any]:
        return {
            **self.as_dict(),
            "dry_run": None,
            "steps": [step.reference for step in self.steps],
            "reclaimable_bytes": None,  # read through caches: a size is no reason to refuse
            "refreshed": None,  # what the preview did first, not what the plan does
        }

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
            **({"refreshed": self.refreshed} if self.refreshed else {}),
        }


# --- Planning -------------------------------------------------------------------------------


def unique(items: Iterable[str]) -> tuple[str, ...]:
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
    selection = unique(selected)
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
        raise failed(e) from e
    plan = plan_from_scan(scan, tags, force=force, deletes_tags=deletes_tags)
    refreshed = _inventory_up_to_date(plan, scan)
    return replace(plan, reclaim_bytes=promised_bytes(plan, scan), refreshed=refreshed)


def _inventory_up_to_date(plan: DeletePlan, scan: RepositoryScan) -> str:
    """Read the repository into the inventory first when it holds other digests for the tags going
    than the registry just answered (the promise is worked out from it); what was done and why, or "".
    When the inventory cannot vouch for itself at all, ``preview_delete`` has read it already."""
    known = dict(Tag.objects.filter(repository__name=plan.repository).values_list("name", "digest"))
    if all(known.get(tag) == scan.refs[tag].digest for tag in plan.removed_tags if tag in scan.refs):
        return ""
    why = "the inventory did not hold these tags as the registry does yet"
    return refresh_repository(plan.repository, why, required=False)


def promised_bytes(plan: DeletePlan, scan: RepositoryScan) -> int | None:
    """What the next default garbage collection frees once the plan ran (with ``prune`` on
    registry:3): the storage picture's own computation (``inventory.storage.release``), so the
    Storage page shows this figure as reclaimable right after the delete. When the inventory does
    not know the manifests going, worked out from the registry instead (``reclaimable_bytes``)."""
    going = set(plan.deleted_manifests) if not plan.deletes_tags else set(plan.prunable)
    if not going:
        return 0
    known = set(Manifest.objects.filter(digest__in=going).values_list("digest", flat=True))
    if known != going:
        return reclaimable_bytes(plan, scan)
    return storage.release(plan.repository, plan.removed_tags, sorted(going)).reclaimable_bytes


def preview_delete(name: str, tags: Sequence[str], *, force: bool = False) -> DeletePlan:
    """``plan_delete`` for a preview (the dialog, the API's dry run), on current data: see
    ``refresh_unvouched``; the plan says what it did (``refreshed``)."""
    refreshed = refresh_unvouched(name)
    plan = plan_delete(name, tags, force=force)
    return replace(plan, refreshed=refreshed) if refreshed else plan


def refresh_unvouched(name: str) -> str:
    """When the inventory cannot vouch for itself (an events gap no sync has covered yet, or no
    sync finished), read repository ``name`` into it first (``refresh_repository``): the artifacts
    attached by digest and the pages after the delete come from it. "" when the inventory could vouch."""
    validate_name(name)
    why = inventory_services.cannot_vouch()
    return refresh_repository(name, why, required=True) if why else ""


def refresh_repository(name: str, why: str, *, required: bool) -> str:
    """The one refresh step of the delete previews: read repository ``name`` from the registry into
    the inventory, as retention's preview does (``inventory.services.refresh_repositories``), and
    say what was done and ``why``, for the preview to show. When the registry cannot be read, a
    ``required`` refresh fails the preview (DeletionFailed); otherwise the preview goes on and says so."""
    try:
        refreshed = inventory_services.refresh_repositories(lambda listed: listed == name)
    except RegistryError as e:
        if required:
            raise failed(e) from e
        return f"{name} could not be read from the registry first ({e}): {why}"
    done = "read from the registry first" if refreshed else "not in the registry's catalog"
    return f"{name} {done}: {why}"


def reclaimable_bytes(plan: DeletePlan, scan: RepositoryScan) -> int | None:
    """What the next garbage collection frees at most once the plan ran (with ``prune`` on registry:3),
    read from the registry (when the inventory does not know the manifests).

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


# --- A manifest by digest ---------------------------------------------------------------------


def _protected_with(scan: RepositoryScan, digest: str) -> dict[str, str]:
    """The protected tags a manifest delete would take (its tags and its attached tags), with their rules."""
    going = (*scan.tags_of(digest), *attached_tags(scan, digest))
    return {tag: rule.describe() for tag, rule in protection.protected(scan.name, going).items()}


def _protected_manifest_message(digest: str, guarded: Mapping[str, str]) -> str:
    return (
        f"Deleting manifest {digest} would remove {'tags' if len(guarded) > 1 else 'tag'} "
        f"{', '.join(sorted(guarded))}, and {protected_list(guarded)}. Nothing was deleted. {PROTECTION_ADVICE}"
    )


@dataclass(frozen=True)
class ManifestPlan(Plan):
    """What deleting a manifest by digest removes: the dialog's preview and the delete's run.

    Its tags go with it (distribution#1566), and so do its attached artifacts (issue 15): its
    signature, attestation, SBOM and referrers tags, and the artifacts attached by digest.
    """

    digest: str
    tags: tuple[str, ...]
    referenced_by: tuple[IndexRef, ...]
    attached: tuple[str, ...] = ()  # its signature, attestation, SBOM and referrers tags: they go too
    attached_by_digest: tuple[str, ...] = ()  # its artifacts without a tag (scan.by_digest): they go too
    protected: tuple[tuple[str, str], ...] = ()  # (tag, rule) of the protected tags it would take: refused
    force: bool = False
    # The repository as read for this plan: the run deletes the attached tags' manifests it names.
    scan: RepositoryScan | None = field(default=None, compare=False, repr=False)
    refreshed: str = field(default="", compare=False)  # set by ``preview_manifest`` (``refresh_unvouched``)

    @property
    def refusal(self) -> str:
        """Why the delete is refused (a protected tag would go), or ""."""
        return _protected_manifest_message(self.digest, dict(self.protected)) if self.protected else ""

    def refused(self) -> DeletionError | None:
        """The 409 this plan answers instead of deleting: a protected tag would go (forced or not),
        or, not forced, the manifest is a platform of an index in the repository."""
        if self.protected:
            return ProtectedTagRefused(self.refusal, protected=dict(self.protected), digest=self.digest)
        if self.referenced_by and not self.force:
            return ReferencedByIndex(
                _index_message(self.digest, self.referenced_by), digest=self.digest, referenced_by=self.referenced_by
            )
        return None

    def fingerprint_document(self) -> list[Any]:
        return [
            self.digest,
            self.tags,
            [ref.as_dict() for ref in self.referenced_by],
            self.attached,
            self.protected,
            *([self.attached_by_digest] if self.attached_by_digest else []),
        ]


# The confirmation dialog's name for it.
ManifestPreview = ManifestPlan


def plan_manifest(name: str, digest: str, *, force: bool = False, probe: bool = False) -> ManifestPlan:
    """Read the repository and decide what deleting manifest ``digest`` removes (no audit entry).

    With ``probe`` (the preview) DeletionDisabled is raised up front when the registry refuses
    deletes. DeletionFailed when the manifest or the repository cannot be read (404 included),
    InvalidRequest for a bad name or digest.
    """
    validate_name(name)
    validate_digest(digest)
    client = get_client()
    try:
        client.head_manifest(name, digest)
        if probe:
            registry_deletes_tags(client, name)
        scan = scan_repository(client, name)
    except RegistryError as e:
        raise failed(e) from e
    tags = scan.tags_of(digest)
    attached = tuple(tag for tag in attached_tags(scan, digest) if tag not in tags)
    guarded = tuple(sorted(_protected_with(scan, digest).items()))
    by_digest = tuple(sorted(scan.by_digest.get(digest, ())))
    return ManifestPlan(
        name,
        digest,
        tags,
        scan.indexes_referencing(digest),
        attached,
        attached_by_digest=by_digest,
        protected=guarded,
        force=force,
        scan=scan,
    )


def preview_manifest(name: str, digest: str, *, force: bool = False) -> ManifestPlan:
    """The manifest plan for the confirmation dialog: DeletionDisabled up front when the registry
    refuses deletes; the repository read into the inventory first when that cannot vouch."""
    refreshed = refresh_unvouched(name)
    plan = plan_manifest(name, digest, force=force, probe=True)
    return replace(plan, refreshed=refreshed) if refreshed else plan
