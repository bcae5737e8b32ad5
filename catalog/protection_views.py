"""The Protected tags page: every role reads the rules, admins add and remove them."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from catalog import protection
from catalog.forms import ProtectedTagForm
from catalog.models import ProtectedTag
from core.roles import Role, denial_message, has_role, role_required


@role_required(Role.VIEWER)
def protected_tags(request: HttpRequest) -> HttpResponse:
    """GET: the rules. POST (admins): add one; a bad pattern answers 400 with the field's message."""
    form = ProtectedTagForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if not has_role(request.user, Role.ADMIN):
            raise PermissionDenied(denial_message(Role.ADMIN))
        if form.is_valid():
            try:
                rule = protection.add_rule(form.cleaned_data["repositories"], form.cleaned_data["tags"], request)
            except protection.RuleInvalid as e:
                for field, message in e.errors.items():
                    form.add_error(field, message)
            else:
                messages.success(
                    request,
                    f'Rule {rule.pk} added: tags matching "{rule.tags}" in repositories matching '
                    f'"{rule.repositories}" are protected from the dashboard\'s deletes.',
                )
                return redirect("catalog:protected-tags")
        status = 400
    rules = ProtectedTag.objects.select_related("created_by")
    return render(request, "catalog/protected_tags.html", {"rules": rules, "form": form}, status=status)


@require_POST
@role_required(Role.ADMIN)
def delete_protected_tag(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = get_object_or_404(ProtectedTag, pk=rule_id)
    number = rule.pk
    protection.remove_rule(rule, request)
    messages.success(request, f"Rule {number} removed: the tags it protected can be deleted again.")
    return redirect("catalog:protected-tags")
