from django.contrib import admin

from maintenance.models import RegistryMaintenance


@admin.register(RegistryMaintenance)
class RegistryMaintenanceAdmin(admin.ModelAdmin):
    """The registry configurations saved before each GC: what the watchdog restores from."""

    list_display = ["container_name", "mode", "job", "started_at", "ended_at", "restored_by"]
    list_filter = ["mode", "restored_by"]
    readonly_fields = ["job", "container_name", "mode", "attrs", "started_at", "ended_at", "restored_by"]
