"""The delete dialogs (htmx): preview exactly what goes, then run it on confirmation.

Every request is a POST with CSRF, the preview included (planning sends the registry a
harmless probe DELETE, see ``deletion.registry_deletes_tags``). A confirmation carries the
preview's fingerprint and runs only if a fresh plan still does exactly what was shown.
Without JavaScript the same forms post to the same views and get a full page.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import trigger_client_event

from catalog import deletion
from core.roles import Role, role_required
from core.types import HtmxHttpRequest

CHANGED_EVENT = "repository-changed"
# From this many tags on, a selection is confirmed by typing the repository's name.
TYPE_NAME_FROM = 10


@dataclass(frozen=True)
class Line:
    """One sentence of the dialog: what goes (or stays) and why."""

    kind: str  # tag-only | manifest | refused | protected | not_found | failed
    tags: tuple[str, ...]
    digest: str = ""
    removed_tags: tuple[str, ...] = ()
    detail: str = ""
    # registry:3: no other tag points to this manifest, so the "Also delete the manifests these
    # tags leave untagged" box decides whether it goes too. The preview renders both sentences and
    # the box shows the one that holds (CSS ``:has``, no script needed); a result shows the one
    # that happened.
    untagged: bool = False


def lines_of(plan: deletion.DeletePlan) -> list[Line]:
    """Group the plan by manifest, so two selected tags of one manifest read as one sentence."""
    lines: list[Line] = []
    by_manifest: dict[str, int] = {}
    for outcome in plan.outcomes:
        if outcome.status == deletion.Status.REMOVED and outcome.deleted_manifest:
            if outcome.deleted_manifest in by_manifest:
                line = lines[by_manifest[outcome.deleted_manifest]]
                lines[by_manifest[outcome.deleted_manifest]] = replace(line, tags=(*line.tags, outcome.tag))
                continue
            by_manifest[outcome.deleted_manifest] = len(lines)
            lines.append(
                Line("manifest", (outcome.tag,), outcome.deleted_manifest, outcome.removed_tags, outcome.detail)
            )
        elif outcome.status == deletion.Status.REMOVED:
            # registry:3: tags of one manifest read as one sentence too (select all = one line per image).
            key = f"tag-only:{outcome.digest}"
            if key in by_manifest:
                line = lines[by_manifest[key]]
                lines[by_manifest[key]] = replace(line, tags=(*line.tags, outcome.tag))
                continue
            by_manifest[key] = len(lines)
            # A pruned manifest is the "manifest" case above once done; one still listed here stays untagged.
            untagged = outcome.digest in plan.prunable and outcome.digest not in plan.pruned
            lines.append(Line("tag-only", (outcome.tag,), outcome.digest, detail=outcome.detail, untagged=untagged))
        else:
            kind = "protected" if outcome.protected_by else outcome.status
            lines.append(Line(kind, (outcome.tag,), outcome.digest, detail=outcome.detail))
    return lines


def _render(request: HtmxHttpRequest, fragment: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    """The dialog fragment for htmx (its target is marked ``data-swap-errors``, so refusals and
    failures show with their real status), else a page around it."""
    if request.htmx:
        return render(request, fragment, context, status=status)
    return render(request, "catalog/delete.html", {**context, "fragment": fragment}, status=status)


@role_required(Role.OPERATOR)
@require_POST
def delete_tags(request: HtmxHttpRequest, name: str) -> HttpResponse:
    """Delete one tag (from its row) or the selected tags (multi-select): preview, then run.

    POST ``tags`` (repeated) and ``force=1``: the preview. With ``confirm=<fingerprint>``
    (and ``typed_name`` when the forced plan goes beyond the selection): the delete.
    """
    fragment = "catalog/_delete_dialog.html"
    tags = [tag.strip() for tag in request.POST.getlist("tags") if tag.strip()]
    force = request.POST.get("force") == "1"
    context: dict[str, Any] = {"name": name, "action": reverse("catalog:delete-tags", args=[name]), "force": force}
    if not tags:
        return _render(request, fragment, {**context, "error": "Select at least one tag to delete."}, 400)
    confirm = request.POST.get("confirm")
    try:
        # The preview reads the repository into the inventory first when that cannot vouch for itself.
        plan = (deletion.plan_delete if confirm else deletion.preview_delete)(name, tags, force=force)
    except deletion.DeletionError as e:
        return _render(request, fragment, {**context, "error": e.message}, e.status)
    needs_name = plan.goes_beyond_selection or len(plan.removed_tags) >= TYPE_NAME_FROM
    # A selection holding a protected tag deletes nothing (as the API's bulk delete): the dialog
    # says which and offers the preview of the rest.
    protected = {o.tag for o in plan.protected if o.tag in tags}
    context.update(
        plan=plan,
        lines=lines_of(plan),
        needs_name=needs_name,
        type_name_from=TYPE_NAME_FROM,
        protected=sorted(protected),
        unprotected=[tag for tag in tags if tag not in protected],
    )
    if not confirm:
        return _render(request, fragment, context)
    if confirm != plan.fingerprint:
        warning = "The registry changed since the preview. This is what goes now: check it and confirm again."
        return _render(request, fragment, {**context, "warning": warning}, 409)
    if needs_name and request.POST.get("typed_name", "").strip() != name:
        return _render(request, fragment, {**context, "warning": f"Type the repository name {name} to confirm."}, 400)
    try:
        deletion.refuse_protected(plan, tags, request)
    except deletion.ProtectedTagRefused as e:
        return _render(request, fragment, {**context, "warning": e.message}, e.status)
    done = deletion.execute(plan, request, prune=request.POST.get("prune") == "1")
    context.update(plan=done, lines=lines_of(done), done=True)
    return trigger_client_event(_render(request, fragment, context), CHANGED_EVENT, {"name": name})


@role_required(Role.OPERATOR)
@require_POST
def delete_manifest(request: HtmxHttpRequest, name: str, digest: str) -> HttpResponse:
    """Delete a manifest by digest (image page): names every tag that goes, asks for the name typed."""
    fragment = "catalog/_delete_manifest_dialog.html"
    force = request.POST.get("force") == "1"
    context: dict[str, Any] = {
        "name": name,
        "digest": digest,
        "action": reverse("catalog:delete-manifest", args=[name, digest]),
        "force": force,
    }
    try:
        preview = deletion.preview_manifest(name, digest, force=force)
    except deletion.DeletionError as e:
        return _render(request, fragment, {**context, "error": e.message}, e.status)
    context["preview"] = preview
    confirm = request.POST.get("confirm")
    if not confirm:
        return _render(request, fragment, context)
    if confirm != preview.fingerprint:
        warning = "The registry changed since the preview. This is what goes now: check it and confirm again."
        return _render(request, fragment, {**context, "warning": warning}, 409)
    if preview.protected:
        return _render(request, fragment, context, 409)
    if request.POST.get("typed_name", "").strip() != name:
        return _render(request, fragment, {**context, "warning": f"Type the repository name {name} to confirm."}, 400)
    try:
        result = deletion.execute(preview, request)  # the plan the fingerprint was checked against
    except deletion.DeletionError as e:
        return _render(request, fragment, {**context, "error": e.message}, e.status)
    context.update(result=result, done=True)
    return trigger_client_event(_render(request, fragment, context), CHANGED_EVENT, {"name": name})
