from django import forms

from maintenance.gc_requests import GcParams

MODE_CHOICES = [
    ("read-only", "Read-only (recommended): pulls keep working, pushes are refused while it runs"),
    ("stop", "Stopped: the registry answers nothing while it runs"),
    ("online", "Online: the registry stays writable; pushes during the run can lose their layers"),
]


class GcForm(forms.Form):
    mode = forms.ChoiceField(choices=MODE_CHOICES, initial="read-only", widget=forms.RadioSelect)
    dry_run = forms.BooleanField(required=False, initial=True)
    delete_untagged = forms.BooleanField(required=False)

    def params(self) -> GcParams:
        return GcParams(
            dry_run=self.cleaned_data["dry_run"],
            delete_untagged=self.cleaned_data["delete_untagged"],
            mode=self.cleaned_data["mode"],
        )


class ScheduleForm(GcForm):
    cron = forms.CharField(max_length=100, initial="0 3 * * 0", help_text="minute hour day month weekday")
    enabled = forms.BooleanField(required=False, initial=True)
    dry_run = forms.BooleanField(required=False, initial=False)

    def schedule_data(self) -> dict[str, object]:
        return {
            "task": "gc",
            "cron": self.cleaned_data["cron"],
            "enabled": self.cleaned_data["enabled"],
            "params": self.params().as_dict(),
        }


class IntervalForm(forms.Form):
    seconds = forms.IntegerField(
        min_value=30, max_value=7 * 86400, label="Collect statistics every (seconds)", help_text="30 s to 7 days"
    )
