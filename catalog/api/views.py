"""GET /api/v1/repositories/... : thin views over catalog.services (the inventory).

Registry failures answer with the client's message and its status (404, 502, 503, 504);
names, tags and digests that break the OCI grammar answer 400 before any registry request.
"""

from __future__ import annotations

from typing import Any, cast

from drf_spectacular.utils import extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from catalog import services
from catalog.api import schema, serializers
from core.api.schema import REGISTRY_ERRORS, errors, query
from core.permissions import ViewerReadsOperatorWrites
from registry_client.client import RegistryError
from registry_client.references import InvalidReference, validate_digest, validate_name, validate_tag


class RegistryAPIView(GenericAPIView):  # type: ignore[type-arg]
    """Turns InvalidReference into 400 and RegistryError into its status, with ``{"detail": ...}``.

    Viewers read; writes (the DELETEs of issue 4) need an operator.
    """

    permission_classes = [ViewerReadsOperatorWrites]

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, InvalidReference):
            return Response({"detail": exc.message}, status=400)
        if isinstance(exc, RegistryError):
            return Response({"detail": exc.message}, status=exc.status)
        return super().handle_exception(exc)


class RepositoryList(RegistryAPIView):
    """GET /api/v1/repositories/?search=TEXT -> {"name", "tag_count", "last_pushed", "pull_count", "size"}."""

    @extend_schema(
        summary="List repositories",
        parameters=[schema.RepositoryQuerySerializer],
        responses={200: serializers.RepositoryPage, **errors(400, 404, *REGISTRY_ERRORS)},
    )
    def get(self, request: Request) -> Response:
        search = query(schema.RepositoryQuerySerializer, request).get("search", "")
        rows = self.paginate_queryset(services.repository_rows(search))
        page = services.as_repositories(rows or [])
        return self.get_paginated_response(serializers.RepositorySerializer(cast(Any, page), many=True).data)


class TagList(RegistryAPIView):
    """GET /api/v1/repositories/{name}/tags/?ordering=name|created|pushed|size|pulled (- reverses)
    &kind=image|index|helm-chart|signature|attestation|sbom|artifact.

    From the inventory, sorted and paged in the database; a repository it does not know yet is
    read from the registry into it first. Signatures, SBOMs, referrers and artifacts whose
    subject is tagged here are listed under their image.
    """

    @extend_schema(
        summary="List a repository's tags",
        operation_id="repositories_tags_list",
        parameters=[schema.NAME_PARAMETER, schema.TagQuerySerializer],
        responses={200: serializers.TagPage, **errors(400, 404, *REGISTRY_ERRORS)},
    )
    def get(self, request: Request, name: str) -> Response:
        validate_name(name)
        params = query(schema.TagQuerySerializer, request)
        tags = self.paginate_queryset(services.image_tags(name, params["ordering"], params["kind"]))
        rows = services.tag_rows(name, list(tags or []))
        # One serializer for the page: one a row deep-copied its fields each time (3/4 of the answer's time).
        return self.get_paginated_response(serializers.TagSerializer(cast(Any, rows), many=True).data)


class TagDetail(RegistryAPIView):
    """GET /api/v1/repositories/{name}/tags/{tag}/ (issue 4 adds DELETE here)."""

    @extend_schema(
        summary="Describe a tag",
        operation_id="repositories_tag_retrieve",
        parameters=[schema.NAME_PARAMETER, schema.TAG_PARAMETER],
        responses={200: serializers.ImageSerializer, **errors(400, 404, *REGISTRY_ERRORS)},
    )
    def get(self, request: Request, name: str, tag: str) -> Response:
        validate_name(name)
        validate_tag(tag)
        return Response(serializers.ImageSerializer(services.image_detail(name, tag)).data)


class ManifestDetail(RegistryAPIView):
    """GET /api/v1/repositories/{name}/manifests/{digest}/ (issue 4 adds DELETE here)."""

    @extend_schema(
        summary="Describe a manifest",
        operation_id="repositories_manifest_retrieve",
        parameters=[schema.NAME_PARAMETER, schema.DIGEST_PARAMETER],
        responses={200: serializers.ImageSerializer, **errors(400, 404, *REGISTRY_ERRORS)},
    )
    def get(self, request: Request, name: str, digest: str) -> Response:
        validate_name(name)
        validate_digest(digest)
        return Response(serializers.ImageSerializer(services.image_detail(name, digest)).data)
