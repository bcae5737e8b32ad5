"""The registry's content in our database: what the pages and the API read.

One registry per deployment. Manifests and blobs are keyed by digest: content addressed by
digest never changes, so a manifest is fetched once and kept as long as a tag (or an index
with a tag) references it. Tags move: ``Tag.digest`` is what the last event or reconcile saw.
``Tag.size`` and ``Tag.created`` copy their manifest's figures so tag tables sort in the
database without a join.
"""

from __future__ import annotations

from django.db import models


class Repository(models.Model):
    name = models.CharField(max_length=255, unique=True)
    first_seen = models.DateTimeField(auto_now_add=True)
    last_pushed = models.DateTimeField(null=True, blank=True, db_index=True)
    # Kept current by the sync, the events and the dashboard's deletes (refresh_repositories).
    size = models.BigIntegerField(default=0, help_text="compressed bytes of the distinct blobs its tags reference")
    pull_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "repositories"

    def __str__(self) -> str:
        return self.name


class Blob(models.Model):
    digest = models.CharField(max_length=100, unique=True)
    size = models.BigIntegerField(default=0)
    media_type = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return self.digest


class Manifest(models.Model):
    """An image manifest or an index, by digest, with what the catalog shows of it.

    ``size`` is the catalog's total size (config + layers; for an index the distinct blobs of
    its platforms, attestations left out). ``body`` is the manifest as the registry gave it,
    ``config`` the image's config blob (JSON configs up to CATALOG_CACHE_MAX_KB; {} otherwise).
    """

    class Kind(models.TextChoices):
        # Worked out once when the manifest enters the inventory (registry_client.manifests.classify).
        IMAGE = "image"
        INDEX = "index"
        HELM_CHART = "helm-chart"
        SIGNATURE = "signature"
        ATTESTATION = "attestation"
        SBOM = "sbom"
        ARTIFACT = "artifact"

    digest = models.CharField(max_length=100, unique=True)
    media_type = models.CharField(max_length=255)
    kind = models.CharField(max_length=20, choices=Kind.choices, db_index=True)
    # OCI 1.1: artifactType, else the config's media type when it is not an image's ("" for images).
    artifact_type = models.CharField(max_length=255, blank=True, default="")
    # The digest an OCI 1.1 ``subject`` names: the manifest this one signs, describes or attests.
    subject = models.CharField(max_length=100, blank=True, default="", db_index=True)
    size = models.BigIntegerField(default=0)
    created = models.DateTimeField(null=True, blank=True)
    platforms = models.JSONField(default=list, blank=True)
    config_digest = models.CharField(max_length=100, blank=True)
    config = models.JSONField(default=dict, blank=True)
    body = models.JSONField(default=dict, blank=True)
    blobs = models.ManyToManyField(Blob, through="ManifestBlob", related_name="manifests")
    pull_count = models.PositiveIntegerField(default=0)
    last_pulled = models.DateTimeField(null=True, blank=True)
    first_seen = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.digest


class ManifestBlob(models.Model):
    """A blob an image manifest references (config and layers), in manifest order."""

    manifest = models.ForeignKey(Manifest, on_delete=models.CASCADE, related_name="blob_links")
    blob = models.ForeignKey(Blob, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["manifest", "position"]
        constraints = [models.UniqueConstraint(fields=["manifest", "position"], name="manifest_blob_position")]

    def __str__(self) -> str:
        return f"{self.manifest_id} #{self.position}"


class ManifestChild(models.Model):
    """A platform of an index: the child's digest (the child may be missing from the registry).

    ``platform`` is "" for an artifact a referrers index lists (OCI 1.1 fallback tag schema).
    """

    parent = models.ForeignKey(Manifest, on_delete=models.CASCADE, related_name="child_links")
    digest = models.CharField(max_length=100, db_index=True)
    platform = models.CharField(max_length=100)
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["parent", "position"]
        constraints = [models.UniqueConstraint(fields=["parent", "position"], name="manifest_child_position")]

    def __str__(self) -> str:
        return f"{self.platform} {self.digest}"


class Tag(models.Model):
    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=128)
    digest = models.CharField(max_length=100)
    manifest = models.ForeignKey(Manifest, on_delete=models.PROTECT, related_name="tags")
    # For a cosign-style sha256-<hex>.sig|.att|.sbom tag: the digest it belongs to; "" for an image tag.
    attached_to = models.CharField(max_length=100, blank=True, default="")
    # Copies of the manifest's figures, for sorting in the database.
    size = models.BigIntegerField(default=0)
    created = models.DateTimeField(null=True, blank=True)
    first_seen = models.DateTimeField(auto_now_add=True)
    pushed_at = models.DateTimeField(null=True, blank=True)
    pushed_by = models.CharField(max_length=255, blank=True)
    last_pulled = models.DateTimeField(null=True, blank=True)
    # When a HEAD (or a GET) last confirmed the digest, and the timestamp of the newest event
    # applied: an older event arriving late changes nothing.
    checked_at = models.DateTimeField(null=True, blank=True)
    event_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["repository", "name"]
        constraints = [models.UniqueConstraint(fields=["repository", "name"], name="tag_unique_name")]
        indexes = [
            models.Index(fields=["repository", "created"], name="tag_repo_created"),
            models.Index(fields=["repository", "pushed_at"], name="tag_repo_pushed"),
            models.Index(fields=["repository", "size"], name="tag_repo_size"),
            models.Index(fields=["repository", "last_pulled"], name="tag_repo_pulled"),
            models.Index(fields=["repository", "digest"], name="tag_repo_digest"),
            models.Index(fields=["repository", "attached_to"], name="tag_repo_attached"),
        ]

    def __str__(self) -> str:
        return f"{self.repository.name}:{self.name}"


class Attachment(models.Model):
    """An artifact pushed by digest whose ``subject`` is in the same repository (issue 15).

    No tag names it and distribution v3 has no referrers API, so the registry cannot list it:
    its push event is the only sign of it. It belongs to its subject: kept while a tag of the
    repository reaches the subject, removed when none does any more.
    """

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="attachments")
    manifest = models.ForeignKey(Manifest, on_delete=models.CASCADE, related_name="attachments")
    subject = models.CharField(max_length=100, db_index=True)
    pushed_at = models.DateTimeField(null=True, blank=True)
    pushed_by = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["repository", "subject", "id"]
        constraints = [models.UniqueConstraint(fields=["repository", "manifest"], name="attachment_unique_manifest")]

    def __str__(self) -> str:
        return f"{self.repository.name}@{self.manifest.digest} -> {self.subject}"


class Event(models.Model):
    """A registry notification (push, pull, mount, delete), kept EVENTS_RETENTION_DAYS days.

    ``processed`` is set once the inventory has applied it; a crash in between leaves it for
    the next reconcile.
    """

    event_id = models.CharField(max_length=100, unique=True)
    timestamp = models.DateTimeField(db_index=True)
    received_at = models.DateTimeField(auto_now_add=True)
    action = models.CharField(max_length=20, db_index=True)
    repository = models.CharField(max_length=255, db_index=True, blank=True)
    tag = models.CharField(max_length=128, blank=True)
    digest = models.CharField(max_length=100, blank=True)
    media_type = models.CharField(max_length=255, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    actor = models.CharField(max_length=255, blank=True)
    address = models.CharField(max_length=255, blank=True)
    host = models.CharField(max_length=255, blank=True, help_text="the address without its port")
    method = models.CharField(max_length=10, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    # source.instanceID: new with each registry process (a restart empties its queue of events).
    instance = models.CharField(max_length=100, blank=True, default="")
    counted = models.BooleanField(default=False, help_text="a pull counted in its manifest's pull count")
    processed = models.BooleanField(default=False, db_index=True)

    class Meta:
        ordering = ["-timestamp", "-id"]
        indexes = [models.Index(fields=["received_at"], name="event_received")]

    def __str__(self) -> str:
        return f"{self.action} {self.repository}:{self.tag or self.digest}"


class SyncState(models.Model):
    """The reconcile's last start and end (one row): the pages' "synced 40 s ago".

    The job that ran it (progress, output, who asked) is a maintenance Job of kind sync.
    """

    last_started = models.DateTimeField(null=True, blank=True)
    last_finished = models.DateTimeField(null=True, blank=True)
    last_result = models.JSONField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Inventory synced {self.last_finished}"

    @classmethod
    def current(cls) -> SyncState:
        return cls.objects.get_or_create(pk=1)[0]

    @classmethod
    def finished_once(cls) -> bool:
        """Whether a sync has finished: from then on the catalog reads the inventory."""
        return cls.objects.filter(pk=1, last_finished__isnull=False).exists()


class EventsState(models.Model):
    """How far the registry's events can be trusted (one row).

    ``tracking_since``: when the first event was applied (pull counts start there). ``instance``:
    the registry process that sent the last event applied (``source.instanceID``): a new one
    means the registry restarted and its queue of undelivered events is gone. The applier locks
    this row for each batch, so batches never interleave (on PostgreSQL; SQLite serialises
    writers anyway) and a pull is counted once.
    """

    tracking_since = models.DateTimeField(null=True, blank=True)
    instance = models.CharField(max_length=100, blank=True, default="")
    last_event_at = models.DateTimeField(null=True, blank=True, help_text="the newest event applied (its timestamp)")
    # The registry container as the worker's engine check last saw it: a new start time means
    # it was restarted or recreated (by anyone: an update, a GC, docker restart, a reboot).
    container_id = models.CharField(max_length=100, blank=True, default="")
    container_started = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Events tracked since {self.tracking_since}"

    @classmethod
    def current(cls) -> EventsState:
        return cls.objects.get_or_create(pk=1)[0]


class EventsGap(models.Model):
    """A time when the registry's events cannot be trusted to have arrived (issue 22).

    From ``started`` (the last moment events are known to have flowed) to ``ended`` (when they
    flow again, or the reconcile that followed began); ``reconciled`` once a full reconcile
    started after it has finished: the inventory vouches for itself again. Pull history inside a
    gap is incomplete for good: retention keeps what a gap leaves unproven.
    """

    started = models.DateTimeField(db_index=True)
    ended = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=500)
    detected = models.DateTimeField(auto_now_add=True)
    reconciled = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started", "-id"]

    def __str__(self) -> str:
        return f"Events gap from {self.started} to {self.ended or 'now'}: {self.reason}"


class StorageFilesReport(models.Model):
    """What the registry's storage files showed at their last reading (one row; issue 24).

    Written by the worker after a sync from the files (REGISTRY_DATA_DIR): blobs and bytes on
    disk, what a GC would free with and without --delete-untagged, untagged manifests per
    repository, upload leftovers (``registry_files.gc.space``). The web has no access to the
    files: the Storage page and the API read this row.
    """

    measured_at = models.DateTimeField()
    data_dir = models.CharField(max_length=500)
    seconds = models.FloatField(default=0)
    figures = models.JSONField(default=dict)

    def __str__(self) -> str:
        return f"Storage files read {self.measured_at}"


class VerifiedBlob(models.Model):
    """A blob the scrub read and found to hash to its name (issue 24), with the size and
    modification time it had then: a later scrub skips it while both are unchanged (as zot's
    incremental scrub does). Written by the scrub job only (``inventory.scrub``)."""

    digest = models.CharField(max_length=80, unique=True)
    size = models.BigIntegerField()
    mtime_ns = models.BigIntegerField()
    verified_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.digest} verified {self.verified_at}"


class TagLinkSeen(models.Model):
    """A tag link of the storage files as the last sync from the files read it (issue 24): its
    digest and the link file's inode, size and modification time. The next sync ``stat``s the link
    instead of reading it and keeps this digest while all three are unchanged
    (``registry_files.layout.StorageFiles.all_tag_links``). Written by the sync from the files only."""

    repository = models.CharField(max_length=255)
    tag = models.CharField(max_length=128)
    digest = models.CharField(max_length=100)
    inode = models.BigIntegerField()
    size = models.BigIntegerField()
    mtime_ns = models.BigIntegerField()
    seen_ns = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["repository", "tag"], name="tag_link_seen_unique")]

    def __str__(self) -> str:
        return f"{self.repository}:{self.tag} -> {self.digest}"


class StorageRelease(models.Model):
    """Blobs a delete through the dashboard left for a garbage collection (issue 25).

    Written when the delete (or a retention run) succeeds, from the inventory as it was just
    before: the blobs only the deleted manifests referenced, with their bytes. ``reclaimable``
    when their manifests were deleted (the next default GC frees them), ``untagged`` when the
    manifests stay without a tag (registry:3 keeps them: only a GC with --delete-untagged frees
    them). The storage picture adds the releases since its last measurement (the storage files,
    or the last GC) to it, so it is true right after the delete, without waiting for a dry run.
    """

    class Kind(models.TextChoices):
        RECLAIMABLE = "reclaimable", "reclaimable by a default GC"
        UNTAGGED = "untagged", "kept untagged"

    created_at = models.DateTimeField(db_index=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    repository = models.CharField(max_length=255)
    #: digest -> bytes on disk
    blobs = models.JSONField(default=dict)
    bytes = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.bytes} bytes {self.kind} after a delete in {self.repository}"
