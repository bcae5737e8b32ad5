"""AuditEntry.fields: what an action did, for code to read back instead of parsing ``detail``.

The deletes recorded before it get their fields from their sentence, once, here: whether a
manifest went (anything but "Deleted tag X only; its manifest stays") and the artifacts named
after "attached artifact(s) (by digest):". ``maintenance.gc_requests`` reads only the fields.
"""

import re

from django.db import migrations, models

ATTACHED = re.compile(r"attached artifacts?(?: \(by digest\))?: ((?:sha256:[0-9a-f]{64}(?:, )?)+)")


def fields_from_sentences(apps, schema_editor):
    AuditEntry = apps.get_model("core", "AuditEntry")
    entries = AuditEntry.objects.filter(action__in=["delete-tag", "delete-manifest"], outcome="succeeded").exclude(
        digest=""
    )
    for entry in entries.iterator():
        detail = entry.detail
        manifest = "manifest" in detail.lower() and "stays" not in detail
        attached = ATTACHED.search(detail)
        entry.fields = {
            "deleted_manifests": [entry.digest] if manifest else [],
            "attached": attached[1].split(", ") if attached else [],
        }
        entry.save(update_fields=["fields"])


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0003_api_tokens"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditentry",
            name="fields",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.RunPython(fields_from_sentences, migrations.RunPython.noop),
    ]
