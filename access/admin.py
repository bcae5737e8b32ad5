from django.contrib import admin

from access.models import AnonymousPullRule, Robot, TokenRequest


@admin.register(Robot)
class RobotAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at", "expires_at", "last_used_at", "revoked_at"]
    readonly_fields = ["secret_hash", "last_used_at", "last_used_ip"]


@admin.register(AnonymousPullRule)
class AnonymousPullRuleAdmin(admin.ModelAdmin):
    list_display = ["repositories", "created_at", "created_by"]


@admin.register(TokenRequest)
class TokenRequestAdmin(admin.ModelAdmin):
    list_display = ["created_at", "account", "kind", "address", "outcome"]
    list_filter = ["outcome", "kind"]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
