from typing import Any

from django import forms

from retention.models import FIELDS, RetentionPolicy


class GlobListField(forms.CharField):
    """Repository globs, one per line (or separated by spaces or commas), as the model's list."""

    widget = forms.Textarea(attrs={"rows": 2})

    def prepare_value(self, value: Any) -> Any:
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        text = super().to_python(value) or ""
        return [item for item in text.replace(",", " ").split() if item]


class PolicyForm(forms.ModelForm[RetentionPolicy]):
    """The page's form: the model's validators (``retention.rules``) check it, as the API's serializer does."""

    repositories = GlobListField(help_text='One per line: "team/*" one level, "team/**" any depth, "**" every one.')
    exclude_repositories = GlobListField(required=False)

    class Meta:
        model = RetentionPolicy
        fields = list(FIELDS)
        labels = {
            "tags": "Tags considered (regular expression; blank: every tag)",
            "exclude_tags": "Tags left out (regular expression)",
            "keep_last": "Keep the last N",
            "order_by": "Newest by",
            "keep_days": "Keep those newer than D days",
            "keep_pulled_days": "Keep those pulled within D days",
            "keep_tags": "Always keep tags matching (regular expression)",
            "untagged": "Also delete the manifests the run leaves without a tag",
            "schedule": "Schedule (cron, blank: none)",
            "then_gc": "Then run a read-only garbage collection",
        }

    def clean_schedule(self) -> str:
        return str(self.cleaned_data.get("schedule") or "").strip()
