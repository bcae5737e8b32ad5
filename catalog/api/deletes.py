"""DELETE of tags and manifests and the bulk delete, over catalog.deletion.

Viewers read (the catalog's GET), operators and admins delete. Every answer is JSON with
``detail`` on failure; the 409 refusals carry ``digest``, ``shared_with`` and ``referenced_by``
so a client can decide, and ``protected`` (each protected tag with its rule) when a
protected-tag rule refused it: forcing does not change that.
"""

from __future__ import annotations

from django.core.validators import RegexValidator
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import deletion
from catalog.api import schema, views
from core.api.schema import REGISTRY_ERRORS, JsonBooleanField, JsonCharField, StrictSerializer, body, errors, query
from core.permissions import IsOperator
from registry_admin.env import parse_bool
from registry_client.references import TAG_PATTERN


def _flag(request: Request, name: str) -> bool:
    """A true/false query parameter (parse_bool's words), validated by the schema's DeleteQuerySerializer."""
    try:
        value = query(schema.TagDeleteQuerySerializer, request).get(name, "false")
    except ValidationError as e:
        bad = next(iter(e.detail)) if isinstance(e.detail, dict) else name
        raw = request.query_params.get(str(bad), "")
        raise deletion.InvalidRequest(f"{bad} must be true or false, not {raw[:20]!r}.") from None
    return parse_bool(value) is True


def _force(request: Request) -> bool:
    return _flag(request, "force")


def _error(error: deletion.DeletionError) -> Response:
    return Response(error.as_dict(), status=error.status)


def _delete_responses() -> dict[int, object]:
    return {
        200: schema.DeleteResultSerializer,
        **errors(404, *REGISTRY_ERRORS),
        400: OpenApiResponse(schema.DeletionErrorSerializer, description="A bad name, tag, digest or force."),
        405: OpenApiResponse(schema.DeletionErrorSerializer, description="The registry refuses deletes."),
        409: OpenApiResponse(
            schema.DeleteRefusedSerializer,
            description=(
                "Refused: other tags share the manifest, an index references it, or a protected tag would go "
                "(protected names it and its rule). Nothing was deleted."
            ),
        ),
    }


class TagDetail(views.TagDetail):
    """GET (the catalog's image detail) and DELETE /api/v1/repositories/{name}/tags/{tag}/?force=true&prune=true

    ``prune=true`` (registry:3): also delete the manifest the tag delete left untagged, so the
    next garbage collection frees it; ``deleted_manifest`` then names it, as a manifest delete does.
    """

    @extend_schema(
        summary="Delete a tag",
        operation_id="repositories_tag_destroy",
        parameters=[schema.NAME_PARAMETER, schema.TAG_PARAMETER, schema.TagDeleteQuerySerializer],
        responses=_delete_responses(),
    )
    def delete(self, request: Request, name: str, tag: str) -> Response:
        try:
            result = deletion.delete_tag(
                name, tag, force=_force(request), prune=_flag(request, "prune"), request=request
            )
        except deletion.DeletionError as e:
            return _error(e)
        return Response(result.as_dict())


class ManifestDetail(views.ManifestDetail):
    """GET (the catalog's image detail) and DELETE /api/v1/repositories/{name}/manifests/{digest}/?force=true"""

    @extend_schema(
        summary="Delete a manifest",
        operation_id="repositories_manifest_destroy",
        parameters=[schema.NAME_PARAMETER, schema.DIGEST_PARAMETER, schema.DeleteQuerySerializer],
        responses=_delete_responses(),
    )
    def delete(self, request: Request, name: str, digest: str) -> Response:
        try:
            result = deletion.delete_manifest(name, digest, force=_force(request), request=request)
        except deletion.DeletionError as e:
            return _error(e)
        return Response(result.as_dict())


class BulkDeleteSerializer(StrictSerializer):
    tags = serializers.ListField(
        child=JsonCharField(
            validators=[
                RegexValidator(
                    rf"^{TAG_PATTERN}\Z",
                    "Not a tag: at most 128 letters, digits, _, . and -, not starting with . or -.",
                )
            ]
        ),
        min_length=1,
        max_length=1000,
    )
    dry_run = JsonBooleanField(default=False)
    force = JsonBooleanField(default=False)
    prune = JsonBooleanField(default=False)


class BulkDelete(APIView):
    """POST /api/v1/repositories/{name}/bulk-delete/ {"tags": [...], "dry_run": bool, "force": bool, "prune": bool}

    ``prune`` (registry:3): also delete the manifests the tag deletes leave untagged
    (``prunable_manifests`` in the dry run); they are then listed in ``deleted_manifests``.

    Answers 200 with one result per tag (removed, refused, not_found, failed) whether or not
    some were refused: the request as a whole was carried out as planned. A selection holding
    a protected tag (``protected_by`` in the dry run's results) is refused as a whole: 409,
    nothing deleted.
    """

    permission_classes = [IsOperator]

    @extend_schema(
        summary="Delete several tags of a repository",
        operation_id="repositories_bulk_delete",
        parameters=[schema.NAME_PARAMETER],
        request=BulkDeleteSerializer,
        responses={
            200: schema.BulkDeleteResultSerializer,
            **errors(400, 404, *REGISTRY_ERRORS),
            405: OpenApiResponse(schema.DeletionErrorSerializer, description="The registry refuses deletes."),
            409: OpenApiResponse(
                schema.DeleteRefusedSerializer,
                description="The selection holds protected tags (protected names each with its rule); nothing deleted.",
            ),
        },
    )
    def post(self, request: Request, name: str) -> Response:
        values = body(BulkDeleteSerializer, request)  # {"dryrun": true} is a 400, not a real delete
        try:
            plan = deletion.bulk_delete(
                name,
                values["tags"],
                dry_run=values["dry_run"],
                force=values["force"],
                prune=values["prune"],
                request=request,
            )
        except deletion.DeletionError as e:
            return _error(e)
        return Response(plan.as_dict())
