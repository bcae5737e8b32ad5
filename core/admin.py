from django.contrib import admin
from rest_framework.authtoken.models import TokenProxy

from core.models import ApiToken, AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin[AuditEntry]):
    list_display = ["created_at", "actor", "via", "ip", "action", "repository", "tag", "outcome"]
    list_filter = ["action", "outcome", "via"]
    search_fields = ["repository", "tag", "digest", "actor"]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    """Admins see and revoke (delete) anyone's tokens; they are made on the Tokens page."""

    list_display = ["name", "user", "role", "prefix", "created_at", "expires_at", "last_used_at", "last_used_ip"]
    list_filter = ["role"]
    search_fields = ["name", "user__username"]
    exclude = ["key_hash"]
    readonly_fields = ["user", "name", "role", "prefix", "created_at", "expires_at", "last_used_at", "last_used_ip"]

    def has_add_permission(self, request: object) -> bool:
        return False


# DRF keeps drf_create_token's tokens as plain keys and its admin shows them (in the list, in
# each row's link and checkbox, since the key is the primary key): list them without the key.
admin.site.unregister(TokenProxy)


@admin.register(TokenProxy)
class DrfTokenAdmin(admin.ModelAdmin[TokenProxy]):
    """The user and the creation time of each drf_create_token token, never the key itself.

    ``manage.py drf_create_token -r USER`` replaces a user's token; named tokens (the Tokens
    page) are revoked under Api tokens."""

    list_display = ["user", "created"]
    list_display_links = None
    actions = None
    search_fields = ["user__username"]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_view_permission(self, request: object, obj: object = None) -> bool:
        return obj is None  # the list only: a row's own page would put the key in its address
