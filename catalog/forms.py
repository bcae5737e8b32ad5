from django import forms

from core import patterns


class ProtectedTagForm(forms.Form):
    """A protected-tag rule; both patterns checked by ``core.patterns`` (as the API does)."""

    repositories = forms.CharField(max_length=patterns.GLOB_MAX_LENGTH, initial="**")
    # Spaces are part of what a regular expression matches: kept as typed.
    tags = forms.CharField(max_length=patterns.REGEX_MAX_LENGTH, strip=False)
