import json

from django.contrib import admin
from django.utils.html import format_html

from core.masking import masked_inspect
from maintenance.models import RegistryMaintenance


@admin.register(RegistryMaintenance)
class RegistryMaintenanceAdmin(admin.ModelAdmin[RegistryMaintenance]):
    """The registry configurations saved before each GC: what the watchdog restores from."""

    list_display = ["container_name", "mode", "job", "started_at", "ended_at", "restored_by"]
    list_filter = ["mode", "restored_by"]
    fields = ("job", "container_name", "mode", "started_at", "ended_at", "restored_by", "configuration")
    readonly_fields = fields

    @admin.display(description="docker inspect (secrets hidden)")
    def configuration(self, record: RegistryMaintenance) -> str:
        return format_html("<pre>{}</pre>", json.dumps(masked_inspect(record.attrs), indent=2, ensure_ascii=False))
