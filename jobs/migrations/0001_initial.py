# The Job model moves from maintenance to jobs without touching the database: its table keeps
# the name maintenance_job (Meta.db_table), so this migration only takes it into jobs' state;
# maintenance 0008 drops it from maintenance's state and points RegistryMaintenance.job here.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def rename_content_type(apps, schema_editor, old="maintenance", new="jobs"):
    """Keep the content type (and the permissions on it) of an existing install."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    if not ContentType.objects.using(db).filter(app_label=new, model="job").exists():
        ContentType.objects.using(db).filter(app_label=old, model="job").update(app_label=new)


def rename_content_type_back(apps, schema_editor):
    rename_content_type(apps, schema_editor, old="jobs", new="maintenance")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("maintenance", "0007_job_kind_retention"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Job",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("kind", models.CharField(choices=[("gc", "Garbage collection"), ("stats", "Statistics"), ("update", "Registry update"), ("verify", "Registry verification"), ("sync", "Inventory sync"), ("retention", "Retention run")], db_index=True, max_length=20)),
                        ("status", models.CharField(choices=[("queued", "Queued"), ("running", "Running"), ("succeeded", "Succeeded"), ("failed", "Failed")], db_index=True, default="queued", max_length=20)),
                        ("params", models.JSONField(blank=True, default=dict)),
                        ("output", models.TextField(blank=True)),
                        ("result", models.JSONField(blank=True, null=True)),
                        ("error", models.TextField(blank=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                        ("started_at", models.DateTimeField(blank=True, null=True)),
                        ("finished_at", models.DateTimeField(blank=True, null=True)),
                        ("heartbeat_at", models.DateTimeField(blank=True, null=True)),
                        ("user", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "db_table": "maintenance_job",
                        "ordering": ["-created_at", "-id"],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(rename_content_type, rename_content_type_back, elidable=True),
    ]
