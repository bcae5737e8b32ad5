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

    keeps_nothing_understood = forms.BooleanField(
        required=False,
        label="I understand: this policy keeps no tag, every tag it considers is deleted",
    )

    def __init__(self, *args: Any, previewed: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Whether this person previewed the policy as it is saved now (the preview view notes it).
        self.previewed = previewed
        if self.instance.pk is None and "untagged" not in self.initial:
            # On registry:3 a deleted tag leaves its manifest, and a default GC frees nothing of
            # it: a new policy deletes those manifests unless unticked, as the delete dialog does.
            self.initial["untagged"] = True

    def clean_schedule(self) -> str:
        return str(self.cleaned_data.get("schedule") or "").strip()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        keeps = [data.get(name) for name in ("keep_last", "keep_days", "keep_pulled_days", "keep_tags")]
        if any(keeps):
            return data
        if not data.get("keeps_nothing_understood"):
            self.add_error(
                "keeps_nothing_understood",
                "This policy keeps no tag: every tag it considers goes. Add a keep rule, or tick “I understand”.",
            )
        elif data.get("enabled") and data.get("schedule") and not self.previewed:
            self.add_error(
                "schedule",
                "A policy that keeps nothing runs on a schedule only once you have previewed it: save it "
                "without the schedule (or not enabled), preview it, then set the schedule.",
            )
        return data
