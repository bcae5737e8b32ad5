from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from drf_spectacular.views import SpectacularAPIView
from rest_framework import generics, serializers
from rest_framework.decorators import api_view
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import audit, connection, health
from core.api.schema import JsonCharField, StrictSerializer, body, errors, query
from core.api.serializers import AuditEntrySerializer
from core.checks import Check
from core.models import AuditEntry
from core.permissions import IsAdmin


class HealthCheckSerializer(serializers.Serializer[Check]):
    """A part's ``ok`` and ``detail``; its subclasses add the part's extra facts (``Check.extra``)."""

    ok = serializers.BooleanField()
    detail = serializers.CharField(allow_blank=True)


class RegistryHealthSerializer(HealthCheckSerializer):
    url = serializers.CharField(source="extra.url", required=False, help_text="the registry's REGISTRY_URL")


class DockerHealthSerializer(HealthCheckSerializer):
    host = serializers.CharField(source="extra.host", required=False, help_text="the engine a worker reached")
    checked_seconds_ago = serializers.IntegerField(
        source="extra.checked_seconds_ago", required=False, help_text="how old the worker's answer is"
    )


class BrokerHealthSerializer(HealthCheckSerializer):
    url = serializers.CharField(source="extra.url", required=False, help_text="Redis, its password hidden")


class HealthSerializer(serializers.Serializer[health.HealthReport]):
    """Each part's ``ok`` and ``detail``, with the part's own extra fields (the registry's url, ...)."""

    registry = RegistryHealthSerializer(source="checks.registry")
    docker = DockerHealthSerializer(source="checks.docker")
    broker = BrokerHealthSerializer(source="checks.broker")


@extend_schema(
    summary="The dashboard's health",
    responses={
        200: HealthSerializer,
        503: OpenApiResponse(HealthSerializer, description="At least one part is not ok: see its detail."),
    },
)
@api_view(["GET"])
def health_view(request: Request) -> Response:
    """200 when the registry, the engine (via the workers) and the broker are all fine, 503 otherwise."""
    report = health.report()
    return Response(HealthSerializer(report).data, status=200 if report.ok else 503)


class AuditQuerySerializer(serializers.Serializer[None]):
    """The audit log's filters (the page's AuditFilterForm, strict: a given filter is not empty)."""

    action = serializers.CharField(required=False, max_length=50, help_text="e.g. delete-tag, gc-queued")
    outcome = serializers.ChoiceField(required=False, choices=AuditEntry.Outcome.values)
    repository = serializers.CharField(required=False, max_length=255, help_text="names starting with this")
    actor = serializers.CharField(required=False, max_length=150, help_text="a user name, or system")
    since = serializers.DateField(required=False, help_text="on or after this day (YYYY-MM-DD)")
    until = serializers.DateField(required=False, help_text="on or before this day (YYYY-MM-DD)")


@extend_schema(
    summary="The audit log, newest first",
    parameters=[AuditQuerySerializer],
    responses={200: AuditEntrySerializer(many=True), **errors(400, 404)},
)
class AuditList(generics.ListAPIView[AuditEntry]):
    """GET /api/v1/audit/?action=&outcome=&repository=&actor=&since=&until= (paginated)."""

    serializer_class = AuditEntrySerializer

    def get_queryset(self) -> QuerySet[AuditEntry]:
        return audit.filtered(query(AuditQuerySerializer, self.request))


class SchemaView(SpectacularAPIView):
    """The OpenAPI description: YAML, or JSON by ``Accept`` or ``?format=json``; the lang parameter is not offered."""

    @extend_schema(
        summary="This API's OpenAPI 3.1 description",
        parameters=[
            OpenApiParameter("lang", exclude=True),
            OpenApiParameter("format", OpenApiTypes.STR, enum=["json", "yaml"], description="default yaml"),
        ],
        responses={
            (200, "application/vnd.oai.openapi"): OpenApiTypes.OBJECT,
            (200, "application/yaml"): OpenApiTypes.OBJECT,
            (200, "application/vnd.oai.openapi+json"): OpenApiTypes.OBJECT,
            (200, "application/json"): OpenApiTypes.OBJECT,
            404: OpenApiResponse(description="A format other than json or yaml."),
        },
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        if request.query_params.get("format", "json") not in ("json", "yaml"):
            raise NotFound("Ask for format=json or format=yaml.")  # DRF would ignore an empty one
        response: Response = super().get(request, *args, **kwargs)
        return response


class ConnectionTestRequestSerializer(StrictSerializer):
    url = JsonCharField(
        max_length=connection.MAX_LENGTH,
        help_text="the registry's base address to try, http:// or https:// (http://192.168.1.10:5000); never saved",
    )

    def validate_url(self, value: str) -> str:
        try:
            return connection.clean_address(value)
        except connection.InvalidAddress as e:
            raise serializers.ValidationError(str(e)) from e


class ConnectionTestSerializer(serializers.Serializer[dict[str, Any]]):
    url = serializers.CharField(help_text="the address tried, credentials masked")
    outcome = serializers.ChoiceField(
        choices=[
            "registry",
            "registry-login",
            "not-registry",
            "redirect",
            "dns",
            "refused",
            "timeout",
            "tls",
            "unreachable",
        ],
        help_text=(
            "registry: 200 with Distribution's version header; registry-login: 401 with a Bearer or Basic challenge; "
            "not-registry: another HTTP answer; redirect: a 3xx, not followed; the others: no HTTP answer"
        ),
    )
    registry = serializers.BooleanField(help_text="a Distribution registry answered: the address works as REGISTRY_URL")
    status = serializers.IntegerField(allow_null=True, help_text="the HTTP status of GET <url>/v2/, null without one")
    message = serializers.CharField(help_text="what happened, in words")


class ConnectionTest(APIView):
    """POST {"url"} -> 200 with what one ``GET <url>/v2/`` found (admins); nothing is saved."""

    permission_classes = [IsAdmin]

    @extend_schema(
        summary="Try a registry address once: GET <url>/v2/, 5 s, no redirects followed, never saved (admins)",
        request=ConnectionTestRequestSerializer,
        responses={200: ConnectionTestSerializer, **errors(400)},
    )
    def post(self, request: Request) -> Response:
        values = body(ConnectionTestRequestSerializer, request)
        result = connection.try_address(values["url"])
        return Response(ConnectionTestSerializer(result.as_dict()).data)
