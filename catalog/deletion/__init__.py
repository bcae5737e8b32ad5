"""Deleting tags and manifests without removing more than the user chose.

Plan, then execute: ``plan`` decides once what a delete of a selection of tags, of one tag or
of a manifest does, with the fingerprint of it (one ``Plan``: a ``DeletePlan`` for tags, a
``ManifestPlan`` for a manifest); ``execute`` runs any plan against the registry; ``audit``
records what went as fields (read back by ``maintenance.gc_requests``) and the sentence made
of them. The preview and the run share the plan, and a confirmation whose
fingerprint a fresh plan no longer matches is refused: the registry moved past the preview.

A manifest referenced by an index of the same repository (a platform of a multi-arch image)
is never deleted on its own unless forced: the index would point at nothing. Dry runs and
previews write nothing.

Protected tags (``catalog.protection``) are never deleted, forced or not: a plan marks them
refused (``protected_by`` names the rule), a manifest delete that would take one is refused
whole (409), and so is a bulk delete whose selection holds one. On 2.x, where a tag goes only
with its manifest, a tag sharing its manifest with a protected tag is kept too. The registry
itself knows nothing of these rules: a ``docker`` client or ``curl`` can still delete.
"""

from catalog.deletion.errors import (
    DISABLED_ADVICE,
    PROTECTION_ADVICE,
    READ_ONLY_ADVICE,
    DeletionDisabled,
    DeletionError,
    DeletionFailed,
    InvalidRequest,
    ProtectedTagRefused,
    ReferencedByIndex,
    SharedManifest,
    validate_digest,
    validate_name,
    validate_tag,
)
from catalog.deletion.execute import bulk_delete, delete_manifest, delete_tag, execute, refuse_protected
from catalog.deletion.plan import (
    DeletePlan,
    DeleteResult,
    ManifestPlan,
    ManifestPreview,
    Plan,
    Status,
    Step,
    TagOutcome,
    left_untagged,
    plan_delete,
    plan_from_scan,
    plan_manifest,
    preview_delete,
    preview_manifest,
    reclaimable_bytes,
    registry_deletes_tags,
)
from catalog.deletion.scan import IndexRef, RepositoryScan, attached_tags, scan_children, scan_repository

__all__ = [
    "DISABLED_ADVICE",
    "PROTECTION_ADVICE",
    "READ_ONLY_ADVICE",
    "DeletePlan",
    "DeleteResult",
    "DeletionDisabled",
    "DeletionError",
    "DeletionFailed",
    "IndexRef",
    "InvalidRequest",
    "ManifestPlan",
    "ManifestPreview",
    "Plan",
    "ProtectedTagRefused",
    "ReferencedByIndex",
    "RepositoryScan",
    "SharedManifest",
    "Status",
    "Step",
    "TagOutcome",
    "attached_tags",
    "bulk_delete",
    "delete_manifest",
    "delete_tag",
    "execute",
    "left_untagged",
    "plan_delete",
    "plan_from_scan",
    "plan_manifest",
    "preview_delete",
    "preview_manifest",
    "reclaimable_bytes",
    "refuse_protected",
    "registry_deletes_tags",
    "scan_children",
    "scan_repository",
    "validate_digest",
    "validate_name",
    "validate_tag",
]
