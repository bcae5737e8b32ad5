"""The Storage answer's OpenAPI description (``GET /api/v1/storage/``)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from inventory import storage


class StorageQuerySerializer(serializers.Serializer[None]):
    ordering = serializers.ChoiceField(
        required=False,
        choices=list(storage.ORDERINGS),
        default="referenced",
        help_text="the repositories' order: most referenced, unique or shared bytes first, or by name",
    )
    search = serializers.CharField(
        required=False, allow_blank=True, max_length=255, help_text="repositories whose name contains this"
    )


class UsageSerializer(serializers.Serializer[dict[str, Any]]):
    name = serializers.CharField()
    referenced_bytes = serializers.IntegerField(min_value=0, help_text="distinct blobs its tags reference")
    unique_bytes = serializers.IntegerField(
        min_value=0, help_text="of those, referenced nowhere else: what deleting it gives back after a GC"
    )
    shared_bytes = serializers.IntegerField(min_value=0, help_text="of those, referenced elsewhere too")


class NamespaceUsageSerializer(UsageSerializer):
    repositories = serializers.IntegerField(min_value=0)


class StoredSerializer(serializers.Serializer[dict[str, Any]]):
    bytes = serializers.IntegerField(min_value=0, help_text="the registry's storage on disk")
    blobs = serializers.IntegerField(allow_null=True)
    collected_at = serializers.DateTimeField()


class DryRunSerializer(serializers.Serializer[dict[str, Any]]):
    job = serializers.IntegerField()
    url = serializers.URLField()
    finished_at = serializers.DateTimeField(allow_null=True)
    bytes_eligible = serializers.IntegerField(allow_null=True, help_text="what a real run would free")
    blobs_eligible = serializers.IntegerField(allow_null=True)
    manifests_eligible = serializers.IntegerField(allow_null=True)
    delete_untagged = serializers.BooleanField()


class GrowthPointSerializer(serializers.Serializer[dict[str, Any]]):
    collected_at = serializers.DateTimeField()
    storage_bytes = serializers.IntegerField(allow_null=True)
    referenced_bytes = serializers.IntegerField(allow_null=True)


class GrowthSerializer(serializers.Serializer[dict[str, Any]]):
    days = serializers.IntegerField()
    bytes = serializers.IntegerField(allow_null=True, help_text="stored bytes, last sample minus first")
    points = GrowthPointSerializer(many=True)


class IdleImageSerializer(serializers.Serializer[dict[str, Any]]):
    repository = serializers.CharField()
    digest = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    last_pulled = serializers.DateTimeField(allow_null=True)
    pushed = serializers.DateTimeField(allow_null=True)
    unique_bytes = serializers.IntegerField(min_value=0)
    referenced_bytes = serializers.IntegerField(min_value=0)


class NotPulledSerializer(serializers.Serializer[dict[str, Any]]):
    days = serializers.IntegerField()
    images = serializers.IntegerField(min_value=0)
    unique_bytes = serializers.IntegerField(min_value=0)
    shown = IdleImageSerializer(many=True, help_text="the 50 with the most unique bytes")


class GcFiguresSerializer(serializers.Serializer[dict[str, Any]]):
    blobs_eligible = serializers.IntegerField(min_value=0)
    bytes_eligible = serializers.IntegerField(min_value=0)
    manifests_eligible = serializers.IntegerField(min_value=0)


class UntaggedRepositorySerializer(serializers.Serializer[dict[str, Any]]):
    name = serializers.CharField()
    manifests = serializers.IntegerField(min_value=0)


class UploadSerializer(serializers.Serializer[dict[str, Any]]):
    repository = serializers.CharField()
    uuid = serializers.CharField()
    bytes = serializers.IntegerField(min_value=0)
    started = serializers.DateTimeField()
    age_seconds = serializers.IntegerField()
    purged_after = serializers.DateTimeField(
        allow_null=True,
        help_text="when the registry's upload purging removes it (its configured age, else the default 168 h); "
        "null when its upload purging is off",
    )


class UploadPurgingSerializer(serializers.Serializer[dict[str, Any]]):
    enabled = serializers.BooleanField()
    age_hours = serializers.FloatField()
    read_from = serializers.ChoiceField(
        choices=["configuration", "default"], help_text="the registry container's configuration, or its default"
    )


class MetadataSerializer(serializers.Serializer[dict[str, Any]]):
    bytes = serializers.IntegerField(min_value=0, help_text="its own directories and files (not blobs' data)")
    repositories_bytes = serializers.IntegerField(min_value=0, help_text="under repositories/: no GC frees them")
    blob_directories_bytes = serializers.IntegerField(min_value=0, help_text="the directories holding each blob")
    entries = serializers.IntegerField(min_value=0)


class StorageFilesSerializer(serializers.Serializer[dict[str, Any]]):
    """The figures read from the registry's storage files; only ``read_from``, ``reason`` and
    ``measured_at`` (null) when the inventory reads over HTTP."""

    read_from = serializers.ChoiceField(choices=["files", "http"], help_text="where the inventory reads the registry")
    reason = serializers.CharField()
    measured_at = serializers.DateTimeField(allow_null=True)
    age_seconds = serializers.IntegerField(
        min_value=0, allow_null=True, help_text="how old the figures are; null before the first measurement"
    )
    measuring = serializers.BooleanField(
        help_text="a measurement is queued or running (a task of its own after a sync that changed something)"
    )
    measuring_since = serializers.DateTimeField(allow_null=True, help_text="when that measurement was asked for")
    blobs = serializers.IntegerField(min_value=0, required=False, help_text="blobs on disk")
    bytes = serializers.IntegerField(min_value=0, required=False, help_text="their bytes, to the byte")
    gc = GcFiguresSerializer(required=False, help_text="what a GC would delete, as its dry run would find")
    gc_delete_untagged = GcFiguresSerializer(required=False, help_text="the same with --delete-untagged")
    untagged_manifests = serializers.IntegerField(min_value=0, required=False)
    untagged_repository_count = serializers.IntegerField(min_value=0, required=False)
    untagged_repositories = UntaggedRepositorySerializer(many=True, required=False, help_text="at most 50")
    upload_count = serializers.IntegerField(min_value=0, required=False)
    upload_bytes = serializers.IntegerField(min_value=0, required=False)
    uploads = UploadSerializer(many=True, required=False, help_text="at most 50, biggest first")
    upload_purging = UploadPurgingSerializer(
        required=False, help_text="the registry's storage.maintenance.uploadpurging, as the worker read it"
    )
    metadata = MetadataSerializer(
        required=False, help_text="the registry's own directories and link files (apparent sizes, as du -sb)"
    )


class PicturePartSerializer(serializers.Serializer[dict[str, Any]]):
    key = serializers.ChoiceField(choices=list(storage.PART_LABELS), help_text="which part of the disk")
    label = serializers.CharField()  # type: ignore[assignment]
    bytes = serializers.IntegerField(allow_null=True, help_text="null when no source can say")
    source = serializers.CharField(  # type: ignore[assignment]
        help_text=(
            "where the figure comes from: files (REGISTRY_DATA_DIR, to the byte), inventory (an estimate from the "
            "tags and manifests the dashboard knows), dry run (the last GC dry run), container df (the statistics "
            "sample's du of the registry's data root); two joined by ' + ' when deletes since moved bytes"
        )
    )
    measured_at = serializers.DateTimeField(allow_null=True, help_text="when its source measured it")
    note = serializers.CharField(allow_blank=True)


class ContainerDfSerializer(serializers.Serializer[dict[str, Any]]):
    bytes = serializers.IntegerField(min_value=0)
    measured_at = serializers.DateTimeField()


class LastGcSerializer(serializers.Serializer[dict[str, Any]]):
    job = serializers.IntegerField()
    finished_at = serializers.DateTimeField(allow_null=True)
    bytes_freed = serializers.IntegerField(allow_null=True)
    delete_untagged = serializers.BooleanField()


class PictureSerializer(serializers.Serializer[dict[str, Any]]):
    """One storage picture, the one every page shows (issue 25)."""

    on_disk = serializers.IntegerField(allow_null=True, help_text="the sum of the parts; null when not measured")
    source = serializers.CharField(  # type: ignore[assignment]
        allow_blank=True, help_text="files, container df, or empty when nothing measured"
    )
    measured_at = serializers.DateTimeField(allow_null=True)
    computed_at = serializers.DateTimeField()
    adds_up = serializers.BooleanField(help_text="every part known and their sum is on_disk")
    parts = PicturePartSerializer(
        many=True,
        help_text=(
            "referenced by tags, reclaimable by a default GC, kept untagged (what --delete-untagged would add), the "
            "registry's own directories and links, uploads in progress; without the files the last two (and what no "
            "dry run told apart) are one part, rest"
        ),
    )
    notes = serializers.ListField(child=serializers.CharField())
    refreshed = serializers.CharField(
        allow_blank=True, help_text="when the inventory could not vouch for itself: what was read from the registry"
    )
    container_df = ContainerDfSerializer(allow_null=True, help_text="the newest statistics sample's figure, to compare")
    last_gc = LastGcSerializer(allow_null=True, help_text="the newest real garbage collection")
    released_bytes = serializers.IntegerField(
        min_value=0, help_text="bytes deletes through the dashboard released since the measurement"
    )


class StorageSerializer(serializers.Serializer[dict[str, Any]]):
    count = serializers.IntegerField(min_value=0, help_text="repositories with content (matching search)")
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = UsageSerializer(many=True, help_text="this page of repositories")
    stored = StoredSerializer(allow_null=True, help_text="null before the first statistics sample")
    referenced_bytes = serializers.IntegerField(min_value=0, help_text="distinct blobs any tag references")
    shared_bytes = serializers.IntegerField(min_value=0, help_text="of those, referenced by several repositories")
    blobs = serializers.IntegerField(min_value=0)
    repositories = serializers.IntegerField(min_value=0)
    namespaces = NamespaceUsageSerializer(many=True, help_text='at most 100, most bytes first; "" is the top level')
    namespace_count = serializers.IntegerField(min_value=0)
    top_repositories = UsageSerializer(many=True)
    gc_dry_run = DryRunSerializer(allow_null=True, help_text="the newest dry run no real run came after")
    files = StorageFilesSerializer(help_text="the registry's storage files (REGISTRY_DATA_DIR): source and figures")
    growth = GrowthSerializer()
    not_pulled = NotPulledSerializer()
    picture = PictureSerializer(help_text="the storage picture: on disk in parts that add up, each with its source")
