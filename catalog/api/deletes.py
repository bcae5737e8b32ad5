"""DELETE of tags and manifests and the bulk delete, over catalog.deletion.

Viewers read (the catalog's GET), operators and admins delete. Every answer is JSON with
``detail`` on failure; the 409 refusals carry ``digest``, ``shared_with`` and ``referenced_by``
so a client can decide.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import deletion
from catalog.api import views
from core.permissions import IsOperator
from registry_admin.env import parse_bool


def _flag(request: Request, name: str) -> bool:
    value = request.query_params.get(name, "").lower()
    flag = parse_bool(value) if value else False
    if flag is None:
        raise deletion.InvalidRequest(f"{name} must be true or false, not {value[:20]!r}.")
    return flag


def _force(request: Request) -> bool:
    return _flag(request, "force")


def _error(error: deletion.DeletionError) -> Response:
    return Response(error.as_dict(), status=error.status)


class TagDetail(views.TagDetail):
    """GET (the catalog's image detail) and DELETE /api/v1/repositories/{name}/tags/{tag}/?force=true&prune=true

    ``prune=true`` (registry:3): also delete the manifest the tag delete left untagged, so the
    next garbage collection frees it; ``deleted_manifest`` then names it, as a manifest delete does.
    """

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

    def delete(self, request: Request, name: str, digest: str) -> Response:
        try:
            result = deletion.delete_manifest(name, digest, force=_force(request), request=request)
        except deletion.DeletionError as e:
            return _error(e)
        return Response(result.as_dict())


class BulkDeleteSerializer(serializers.Serializer):
    tags = serializers.ListField(child=serializers.CharField(max_length=200), min_length=1, max_length=1000)
    dry_run = serializers.BooleanField(default=False)
    force = serializers.BooleanField(default=False)
    prune = serializers.BooleanField(default=False)


class BulkDelete(APIView):
    """POST /api/v1/repositories/{name}/bulk-delete/ {"tags": [...], "dry_run": bool, "force": bool, "prune": bool}

    ``prune`` (registry:3): also delete the manifests the tag deletes leave untagged
    (``prunable_manifests`` in the dry run); they are then listed in ``deleted_manifests``.

    Answers 200 with one result per tag (removed, refused, not_found, failed) whether or not
    some were refused: the request as a whole was carried out as planned.
    """

    permission_classes = [IsOperator]

    def post(self, request: Request, name: str) -> Response:
        data = BulkDeleteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values: dict[str, Any] = data.validated_data
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
