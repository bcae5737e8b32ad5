from django import forms

from inventory.receiving import ACTIONS


class ActivityFilterForm(forms.Form):
    repository = forms.CharField(required=False, max_length=255)
    tag = forms.CharField(required=False, max_length=128)
    action = forms.ChoiceField(required=False, choices=[("", "any"), *((a, a) for a in ACTIONS)])
    actor = forms.CharField(required=False, max_length=255)
    address = forms.CharField(required=False, max_length=255, help_text="starts with")
    since = forms.DateTimeField(required=False, help_text="YYYY-MM-DD or YYYY-MM-DD HH:MM")
    until = forms.DateTimeField(required=False, help_text="YYYY-MM-DD or YYYY-MM-DD HH:MM")
    blobs = forms.BooleanField(required=False, help_text="show each blob request as its own row")
