"""The token endpoint under random input (Hypothesis, as schemathesis drives the API): scopes, services and
Authorization headers of any shape get JSON 200, 400 or 401, never a server error, and are recorded; then
schemathesis over a description of the endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import positive_data_acceptance

from access.models import TokenRequest

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_rate(settings: Any) -> Iterator[None]:
    """Hundreds of anonymous requests from one address: over REGISTRY_TOKEN_ANON_RATE (its own tests)."""
    settings.REGISTRY_TOKEN_ANON_RATE = "100000/minute"
    yield


_PART = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=40)
SCOPES = st.lists(
    st.one_of(
        _PART,
        st.builds(
            lambda t, n, a: f"{t}:{n}:{a}", st.sampled_from(["repository", "registry", "x(y)", "Repo"]), _PART, _PART
        ),
    ),
    max_size=5,
)
HEADERS = st.one_of(st.none(), _PART, st.builds(lambda v: f"Basic {v}", _PART))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scopes=SCOPES, service=st.one_of(st.none(), _PART), header=HEADERS)
def test_any_request_gets_json_and_a_record(scopes: list[str], service: str | None, header: str | None) -> None:
    query: dict[str, object] = {"scope": scopes}
    if service is not None:
        query["service"] = service
    extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    before = TokenRequest.objects.count()

    answer = Client().get("/auth/token", query, **extra)

    assert answer.status_code in (200, 400, 401), answer.content
    body = answer.json()
    assert ("token" in body) if answer.status_code == 200 else ("detail" in body)
    assert TokenRequest.objects.count() == before + 1


# The token endpoint lives outside /api/v1/ (docker clients find it through the registry's realm), so
# the API's schemathesis run never sees it: a second run over its own description, every response
# checked (no server error, a documented status, JSON of the documented shape).
_DETAIL = {"type": "object", "required": ["detail"], "properties": {"detail": {"type": "string"}}}
TOKEN_SCHEMA: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "registry-admin token endpoint", "version": "1"},
    "paths": {
        "/auth/token": {
            "get": {
                "parameters": [
                    {"name": "service", "in": "query", "schema": {"type": "string"}},
                    {
                        "name": "scope",
                        "in": "query",
                        "style": "form",
                        "explode": True,
                        "schema": {"type": "array", "items": {"type": "string"}},
                    },
                    {"name": "Authorization", "in": "header", "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": {
                        "description": "a token",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["token", "access_token", "expires_in", "issued_at"],
                                    "properties": {
                                        "token": {"type": "string"},
                                        "access_token": {"type": "string"},
                                        "expires_in": {"type": "integer"},
                                        "issued_at": {"type": "string"},
                                    },
                                }
                            }
                        },
                    },
                    **{
                        code: {"description": "refused", "content": {"application/json": {"schema": _DETAIL}}}
                        for code in ("400", "401", "429")
                    },
                },
            }
        }
    },
}
_token_schema = schemathesis.openapi.from_dict(TOKEN_SCHEMA)
_token_schema.app = get_wsgi_application()


@pytest.fixture
def _wsgi_in_the_test_transaction() -> Iterator[None]:
    """The WSGI handler closes the database connection around each request, as Django's test Client
    keeps it from doing: the calls then run in the test's transaction."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.mark.usefixtures("_wsgi_in_the_test_transaction")
@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=_token_schema["/auth/token"]["GET"].as_strategy())
def test_schemathesis_over_the_token_endpoint(case: Any) -> None:
    before = TokenRequest.objects.count()

    # A scope's grammar (type:name:actions) and the one service are more than the description says: a
    # schema-valid request may rightly be a 400, so the check that it be accepted is left out.
    response = case.call_and_validate(excluded_checks=[positive_data_acceptance])

    assert response.status_code in (200, 400, 401), response.text
    assert TokenRequest.objects.count() == before + 1
