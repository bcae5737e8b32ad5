from rest_framework import serializers

from core.models import AuditEntry


class AuditEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEntry
        fields = [
            "id",
            "created_at",
            "actor",
            "via",
            "ip",
            "action",
            "repository",
            "tag",
            "digest",
            "outcome",
            "detail",
            "registry_response",
        ]
