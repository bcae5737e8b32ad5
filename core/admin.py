from django.contrib import admin

from core.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "actor", "via", "ip", "action", "repository", "tag", "outcome"]
    list_filter = ["action", "outcome", "via"]
    search_fields = ["repository", "tag", "digest", "actor"]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
