from __future__ import annotations

from typing import Any

from django import forms

from notifications import topics, validation
from notifications.models import Channel, Rule


class ChannelForm(forms.ModelForm[Channel]):
    """A channel; its URL is never put back into the page: left blank on an edit, the current one stays."""

    url = forms.CharField(
        required=False,
        max_length=validation.URL_MAX_LENGTH,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="discord://…, tgram://…, ntfy://…, mailto://…, json://… (Apprise), or http(s)://… for a webhook.",
    )

    class Meta:
        model = Channel
        fields = ["name", "kind", "url", "cloudevents", "enabled"]
        labels = {"cloudevents": "Webhook: send a CloudEvents 1.0 structured event"}

    def __init__(self, *args: Any, request_host: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request_host = request_host
        self.existing_url = self.instance.url if self.instance.pk else ""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        kind = cleaned.get("kind")
        url = (cleaned.get("url") or "").strip() or self.existing_url
        if kind:
            try:
                cleaned["url"] = validation.validate_url(kind, url, self.request_host)
            except ValueError as e:
                self.add_error("url", str(e))
        if kind != Channel.Kind.WEBHOOK:
            cleaned["cloudevents"] = False
        return cleaned


class GlobListField(forms.CharField):
    """Repository globs, one a line (or separated by spaces or commas)."""

    widget = forms.Textarea(attrs={"rows": 2})

    def prepare_value(self, value: Any) -> Any:
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        text = super().to_python(value) or ""
        return [item for item in text.replace(",", " ").split() if item]

    def validate(self, value: Any) -> None:
        try:
            validation.validate_globs(value)
        except ValueError as e:
            raise forms.ValidationError(str(e)) from None


class RuleForm(forms.ModelForm[Rule]):
    topics = forms.MultipleChoiceField(choices=list(topics.TOPICS.items()), widget=forms.CheckboxSelectMultiple)
    repositories = GlobListField(required=False, help_text='Push and delete only: "prod/**"; blank: every repository.')

    class Meta:
        model = Rule
        fields = ["name", "channel", "topics", "repositories", "tags", "disk_threshold", "digest_minutes", "enabled"]
        labels = {
            "tags": "Tags (regular expression; blank: any tag)",
            "disk_threshold": "Disk usage threshold (%)",
            "digest_minutes": "Digest: at most one message every N minutes (0: one per event)",
        }

    def clean_tags(self) -> str:
        try:
            return validation.validate_tags(self.cleaned_data.get("tags") or "")
        except ValueError as e:
            raise forms.ValidationError(str(e)) from None

    def clean_disk_threshold(self) -> int:
        value = int(self.cleaned_data.get("disk_threshold") or 0)
        if not 1 <= value <= 100:
            raise forms.ValidationError("A percentage from 1 to 100.")
        return value

    def clean_digest_minutes(self) -> int:
        value = int(self.cleaned_data.get("digest_minutes") or 0)
        if value > 1440:
            raise forms.ValidationError("At most 1440 minutes (a day).")
        return value
