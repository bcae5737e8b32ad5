"""Artifacts pushed by digest with a ``subject`` (issue 15): attached to it, gone with it.

An SBOM or a signature pushed by digest (``oras attach``, ``cosign`` with OCI 1.1 referrers)
has no tag, and distribution v3 has no referrers API (REGISTRY-FACTS.md): the registry cannot
list it, the reconcile cannot find it. Its push event names it; the events store it here
when its subject is in the same repository. From then on it is part of its subject: the
reconcile keeps it (and its manifest) while a tag of the repository reaches the subject,
and removes it when none does.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from inventory.models import Attachment, Manifest, ManifestChild, Repository, Tag


def reached(repository: Repository | int) -> set[str]:
    """The digests the repository's tags reach: the tagged manifests and their indexes' entries."""
    tags = Tag.objects.filter(repository=repository)
    tagged = set(tags.values_list("digest", flat=True))
    children = ManifestChild.objects.filter(parent_id__in=tags.values("manifest_id")).values_list("digest", flat=True)
    return tagged | set(children)


def attach(repository: str, manifest: Manifest, when: datetime | None = None, actor: str = "") -> Attachment | None:
    """Attach ``manifest`` (pushed by digest) to its subject in ``repository``; None when it
    names no subject or the subject is not in that repository."""
    if not manifest.subject:
        return None
    repo = Repository.objects.filter(name=repository).first()
    if repo is None or manifest.subject not in reached(repo):
        return None
    attachment, _ = Attachment.objects.get_or_create(
        repository=repo,
        manifest=manifest,
        defaults={"subject": manifest.subject, "pushed_at": when, "pushed_by": actor},
    )
    return attachment


def detach(repository: str, digests: Iterable[str]) -> int:
    """The attached manifests ``digests`` were deleted from the repository: forget them."""
    wanted = list(digests)
    if not wanted:
        return 0
    return Attachment.objects.filter(repository__name=repository, manifest__digest__in=wanted).delete()[0]


def drop_detached(names: Iterable[str] | None = None) -> int:
    """Forget the attachments whose subject no tag of their repository reaches any more (all
    repositories when ``names`` is None); the number forgotten."""
    attachments = Attachment.objects.all()
    if names is not None:
        attachments = attachments.filter(repository__name__in=list(names))
    by_repository: dict[int, list[tuple[int, str]]] = {}
    for pk, repo_id, subject in attachments.values_list("pk", "repository_id", "subject"):
        by_repository.setdefault(repo_id, []).append((pk, subject))
    gone = [pk for repo_id, items in by_repository.items() for pk, subject in items if subject not in reached(repo_id)]
    return Attachment.objects.filter(pk__in=gone).delete()[0] if gone else 0


def attached_manifest_ids() -> set[int]:
    """Manifests kept because they are attached to a subject in some repository."""
    return set(Attachment.objects.values_list("manifest_id", flat=True).distinct())


def of_subjects(repository: str, subjects: Iterable[str]) -> dict[str, list[Manifest]]:
    """Per subject digest the manifests attached to it by digest in ``repository``."""
    found: dict[str, list[Manifest]] = {}
    for attachment in (
        Attachment.objects.filter(repository__name=repository, subject__in=list(subjects))
        .select_related("manifest")
        .order_by("pushed_at", "id")
    ):
        found.setdefault(attachment.subject, []).append(attachment.manifest)
    return found


def is_attached(repository: str, digest: str) -> bool:
    return Attachment.objects.filter(repository__name=repository, manifest__digest=digest).exists()
