from django.contrib import admin
from django.http import HttpRequest

from retention.models import RetentionPolicy


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(admin.ModelAdmin[RetentionPolicy]):
    """Read only: policies change on the Retention page or through the API, which keep their
    schedule in step and audit the change."""

    list_display = ["name", "enabled", "schedule", "untagged", "then_gc", "updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
