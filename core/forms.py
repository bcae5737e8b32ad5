from django import forms

from core.models import AuditEntry


class AuditFilterForm(forms.Form):
    action = forms.CharField(required=False, max_length=50)
    outcome = forms.ChoiceField(required=False, choices=[("", "any"), *AuditEntry.Outcome.choices])
    repository = forms.CharField(required=False, max_length=255, help_text="starts with")
    actor = forms.CharField(required=False, max_length=150)
    since = forms.DateField(required=False, help_text="YYYY-MM-DD")
    until = forms.DateField(required=False, help_text="YYYY-MM-DD")
