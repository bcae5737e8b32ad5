"""The token endpoint under random input (Hypothesis, as schemathesis drives the API): scopes, services and
Authorization headers of any shape get JSON 200, 400 or 401, never a server error, and are recorded."""

from __future__ import annotations

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from access.models import TokenRequest

pytestmark = pytest.mark.django_db

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
