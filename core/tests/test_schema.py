"""The OpenAPI description: valid, complete (every URL under /api/v1/), served only to users."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.validation import validate_schema

# The one route under /api/v1/ that is a page for people, not an API operation.
NOT_OPERATIONS = {"/api/v1/docs/"}
# POSTs that take no body: they start or ask for something.
BODYLESS = {
    "/api/v1/stats/collect/",
    "/api/v1/registry/unpause/",
    "/api/v1/registry/restart/",
    "/api/v1/registry/update/",
    "/api/v1/sync/",
    "/api/v1/registry/verify/",
    "/api/v1/scrub/",
    "/api/v1/retention-policies/{id}/preview/",
    "/api/v1/robots/{id}/revoke/",
    "/api/v1/notifications/channels/{id}/test/",
    "/api/v1/notifications/channels/{id}/secret/",
}
METHODS = {"get", "post", "put", "patch", "delete"}


def _api_routes() -> set[str]:
    """Every route under /api/v1/ the URL resolver knows, as an OpenAPI path template."""
    found: set[str] = set()

    def walk(patterns: list, prefix: str) -> None:
        for entry in patterns:
            route = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, route)
            elif isinstance(entry, URLPattern):
                found.add(route)

    walk(get_resolver().url_patterns, "")
    templates = set()
    for route in found:
        path = route.replace("^", "").replace("$", "").replace("\\Z", "").replace("\\", "")
        path = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", path)  # regex groups
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", path)  # path converters
        path = "/" + path
        if path.startswith("/api/v1/"):
            templates.add(path.replace("{pk}", "{id}"))
    return templates


@pytest.fixture
def schema(viewer_client: Client) -> dict:
    response = viewer_client.get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    return json.loads(response.content)


def test_the_schema_is_valid_openapi_3_1(schema: dict) -> None:
    assert schema["openapi"].startswith("3.1")
    validate_schema(schema)


def test_it_lists_every_url_under_api_v1(schema: dict) -> None:
    routes = _api_routes()
    assert "/api/v1/repositories/{name}/tags/{tag}/" in routes  # the walk sees the regex routes
    assert "/api/v1/schedules/{id}/" in routes  # and the router's
    missing = routes - NOT_OPERATIONS - set(schema["paths"])
    assert not missing, f"routes without a description in the schema: {sorted(missing)}"
    assert not set(schema["paths"]) - routes, "the schema describes routes that do not exist"


def test_every_operation_has_its_bodies_and_errors(schema: dict) -> None:
    error_ref = "#/components/schemas/Error"
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            where = f"{method.upper()} {path}"
            responses = operation["responses"]
            successes = [code for code in responses if code.startswith("2")]
            assert successes, f"{where}: no success response"
            for code in successes:
                if code != "204":
                    assert responses[code].get("content"), f"{where}: {code} has no body described"
            for code in ("401", "403", "429"):
                assert responses[code]["content"]["application/json"]["schema"] == {"$ref": error_ref}, where
            if method in {"post", "put", "patch"} and path not in BODYLESS:
                assert "requestBody" in operation, f"{where}: no request body described"
                assert "400" in responses, f"{where}: no 400 described"
            if "{" in path:
                assert "404" in responses or "400" in responses, f"{where}: a bad path parameter's answer"


def test_repository_names_with_slashes_and_the_shared_digest_refusal_are_described(schema: dict) -> None:
    tag_delete = schema["paths"]["/api/v1/repositories/{name}/tags/{tag}/"]["delete"]
    name = next(p for p in tag_delete["parameters"] if p["name"] == "name")
    assert "slash" in name["description"] and name["in"] == "path"
    refusal = tag_delete["responses"]["409"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert {"detail", "shared_with", "referenced_by"} <= set(schema["components"]["schemas"][refusal]["properties"])
    bulk = schema["paths"]["/api/v1/repositories/{name}/bulk-delete/"]["post"]
    body = bulk["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert schema["components"]["schemas"][body]["required"] == ["tags"]


def test_yaml_by_default_and_json_by_accept(viewer_client: Client) -> None:
    as_yaml = viewer_client.get("/api/v1/schema/")
    assert as_yaml["Content-Type"].startswith("application/vnd.oai.openapi")
    assert yaml.safe_load(as_yaml.content)["openapi"].startswith("3.1")
    as_json = viewer_client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert json.loads(as_json.content)["openapi"].startswith("3.1")
    plain_json = viewer_client.get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert json.loads(plain_json.content)["openapi"].startswith("3.1")


@pytest.mark.django_db
def test_schema_and_docs_need_a_login(client: Client) -> None:
    assert client.get("/api/v1/schema/").status_code == 401
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 302 and "/login/" in docs["Location"]


def test_swagger_ui_is_served_from_our_static_files(viewer_client: Client) -> None:
    page = viewer_client.get("/api/v1/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower() and "https://" not in html
    scripts = re.findall(r"<script[^>]*>", html)
    assert scripts and all("src=" in tag for tag in scripts), "no inline script: the CSP allows only files"
    init = viewer_client.get("/api/v1/docs/?script=")
    assert init.status_code == 200 and "SwaggerUIBundle" in init.content.decode()


def test_the_schema_generates_without_a_warning(tmp_path: Any) -> None:
    """Two serializers of one name in two apps (access's and notifications' rules) made one component
    of both, so the fuzz sent robots the fields of notification rules: a warning fails here."""
    from django.core.management import call_command

    call_command("spectacular", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
