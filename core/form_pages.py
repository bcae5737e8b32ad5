"""The POST half of the pages that edit and delete a saved object through its app's services
(notification rules and channels, retention policies): one shape, so each view says only what
differs (its form, its page, its words)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect


def save_edit(
    request: HttpRequest,
    found: models.Model,
    form: forms.ModelForm[Any],
    save: Callable[..., Any],
    refused: Callable[[forms.ModelForm[Any]], HttpResponse],
    *,
    said: str,
    then: str,
) -> HttpResponse:
    """Save ``form`` (bound to ``found``) through ``save(instance, request, created=False)`` and go to
    ``then`` saying ``said``; a form that does not validate answers ``refused(form)`` (a 400 page)
    beside the object as it is stored (the form changed the instance in memory)."""
    if not form.is_valid():
        found.refresh_from_db()
        return refused(form)
    save(form.save(commit=False), request, created=False)
    messages.success(request, said)
    return redirect(then)


def delete_and_go(
    request: HttpRequest, found: models.Model, delete: Callable[[Any, HttpRequest], object], *, said: str, then: str
) -> HttpResponse:
    """Delete ``found`` through ``delete(instance, request)`` (which audits it) and go to ``then`` saying ``said``."""
    delete(found, request)
    messages.success(request, said)
    return redirect(then)
