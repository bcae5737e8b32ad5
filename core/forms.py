from django import forms

from core import connection
from core.models import AuditEntry


class AuditFilterForm(forms.Form):
    action = forms.CharField(required=False, max_length=50)
    outcome = forms.ChoiceField(required=False, choices=[("", "any"), *AuditEntry.Outcome.choices])
    repository = forms.CharField(required=False, max_length=255, help_text="starts with")
    actor = forms.CharField(required=False, max_length=150)
    since = forms.DateField(required=False, help_text="YYYY-MM-DD")
    until = forms.DateField(required=False, help_text="YYYY-MM-DD")


class TokenForm(forms.Form):
    """A new API token: a name, a role up to the user's, an optional expiry in days."""

    name = forms.CharField(max_length=100, help_text="what uses it, e.g. ci-push or grafana")
    role = forms.ChoiceField(choices=[])
    expires_in_days = forms.IntegerField(
        required=False, min_value=1, max_value=3650, label="Expires after (days)", help_text="empty: never"
    )

    def __init__(self, *args: object, roles: list[str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["role"].choices = [(name, name) for name in roles]  # type: ignore[attr-defined]
        if roles:
            self.fields["role"].initial = roles[0]


class ConnectionTestForm(forms.Form):
    """The setup page's "Test connection": an address tried once, never saved (``core.connection``)."""

    url = forms.CharField(
        label="Registry address",
        max_length=connection.MAX_LENGTH,
        strip=True,
        widget=forms.TextInput(attrs={"placeholder": "http://192.168.1.10:5000", "inputmode": "url"}),
    )

    def clean_url(self) -> str:
        try:
            return connection.clean_address(self.cleaned_data["url"])
        except connection.InvalidAddress as e:
            raise forms.ValidationError(str(e)) from e
