from django.contrib import admin

from core.models import ApiToken, AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "actor", "via", "ip", "action", "repository", "tag", "outcome"]
    list_filter = ["action", "outcome", "via"]
    search_fields = ["repository", "tag", "digest", "actor"]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Admins see and revoke (delete) anyone's tokens; they are made on the Tokens page."""

    list_display = ["name", "user", "role", "prefix", "created_at", "expires_at", "last_used_at", "last_used_ip"]
    list_filter = ["role"]
    search_fields = ["name", "user__username"]
    exclude = ["key_hash"]
    readonly_fields = ["user", "name", "role", "prefix", "created_at", "expires_at", "last_used_at", "last_used_ip"]

    def has_add_permission(self, request: object) -> bool:
        return False
