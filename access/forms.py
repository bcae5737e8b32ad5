"""The Access page's forms: a new robot (its rules one per line), an anonymous-pull rule, the token list's filter."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.utils import timezone

from access import services
from access.models import TokenRequest

RULES_HELP = 'One rule per line: a repository pattern, then the actions, e.g. "ci/** pull,push" or "** pull".'


def parse_rule_lines(text: str) -> list[dict[str, Any]]:
    """``ci/** pull,push`` lines as the API's rules; ValueError names the line."""
    rules: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2:
            raise ValueError(f'Line {number}: "{line.strip()}" is not a pattern and actions. {RULES_HELP}')
        actions = [action.strip() for action in parts[1].split(",") if action.strip()]
        rules.append({"repositories": parts[0], "actions": actions})
    return rules


class RobotForm(forms.Form):
    name = forms.CharField(max_length=64)
    description = forms.CharField(max_length=200, required=False)
    rules = forms.CharField(widget=forms.Textarea, help_text=RULES_HELP)
    expires_in_days = forms.IntegerField(min_value=1, max_value=3650, required=False)

    def clean_name(self) -> str:
        try:
            return services.validate_name(self.cleaned_data["name"])
        except ValueError as e:
            raise forms.ValidationError(str(e)) from None

    def clean_rules(self) -> list[dict[str, Any]]:
        try:
            rules = parse_rule_lines(self.cleaned_data["rules"])
            services.clean_rules(rules)
        except ValueError as e:
            raise forms.ValidationError(str(e)) from None
        return rules

    def expires_at(self) -> Any:
        days = self.cleaned_data.get("expires_in_days")
        return timezone.now() + timedelta(days=days) if days else None


class AnonymousRuleForm(forms.Form):
    repositories = forms.CharField(max_length=255)


class TokenRequestFilterForm(forms.Form):
    account = forms.CharField(required=False, max_length=200)
    outcome = forms.ChoiceField(required=False, choices=[("", "any"), *TokenRequest.Outcome.choices])
    hide_dashboard = forms.BooleanField(required=False, label="Hide the dashboard's own requests")
