"""An API view and the serializer of its answer are freed as the answer is, without Python's cyclic
garbage collector (core.middleware.ReleaseViews): the web's collections stay small (issue 26)."""

from __future__ import annotations

import gc
import weakref
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import RequestFactory
from django.test.client import ClientHandler

from conftest import make_user


@pytest.mark.django_db
def test_an_api_view_and_its_serializer_are_freed_with_their_answer() -> None:
    make_user("ci-bot", "viewer")
    out = StringIO()
    call_command("drf_create_token", "ci-bot", stdout=out)
    environ = RequestFactory().get("/api/v1/audit/", HTTP_AUTHORIZATION=f"Token {out.getvalue().split()[2]}").environ
    handler = ClientHandler()  # Django's handler as the test client runs it, without the client's own references
    handler(dict(environ))  # imports, caches: what lives on
    gc.collect()
    gc.disable()
    try:
        response = handler(dict(environ))
        assert response.status_code == 200, response.content
        view = weakref.ref(response.renderer_context["view"])
        serializer = weakref.ref(response.data["results"].serializer)
        assert view() is not None and serializer() is not None
        del response
        assert view() is None
        assert serializer() is None
    finally:
        gc.enable()
