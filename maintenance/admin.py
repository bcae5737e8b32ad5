import json
import re
from typing import Any

from django.contrib import admin
from django.utils.html import format_html

from maintenance.models import RegistryMaintenance

# NOTIFICATIONS and HEADERS: the events endpoint's Authorization header (the events token) is in them.
SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASS|TOKEN|KEY|CREDENTIAL|NOTIFICATIONS|HEADERS", re.IGNORECASE)


def masked(attrs: dict[str, Any]) -> dict[str, Any]:
    """The saved inspect output with secret-looking environment values hidden."""
    shown: dict[str, Any] = json.loads(json.dumps(attrs))
    env = shown.get("Config", {}).get("Env") or []
    shown.setdefault("Config", {})["Env"] = [
        f"{k}=***" if SECRET_NAME.search(k) else f"{k}={v}" for k, _, v in (e.partition("=") for e in env)
    ]
    return shown


@admin.register(RegistryMaintenance)
class RegistryMaintenanceAdmin(admin.ModelAdmin):
    """The registry configurations saved before each GC: what the watchdog restores from."""

    list_display = ["container_name", "mode", "job", "started_at", "ended_at", "restored_by"]
    list_filter = ["mode", "restored_by"]
    fields = ("job", "container_name", "mode", "started_at", "ended_at", "restored_by", "configuration")
    readonly_fields = fields

    @admin.display(description="docker inspect (secrets hidden)")
    def configuration(self, record: RegistryMaintenance) -> str:
        return format_html("<pre>{}</pre>", json.dumps(masked(record.attrs), indent=2))
