from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def ensure_role_groups(sender: AppConfig, **kwargs: Any) -> None:
    """Make the viewer/operator/admin groups exist after every migrate and flush.

    The migration 0001_roles makes them too; this also puts them back after a database
    flush (Django's flush emits post_migrate), e.g. between transactional tests.
    """
    from django.contrib.auth.models import Group

    from core.roles import Role

    for role in Role:
        Group.objects.using(kwargs.get("using", "default")).get_or_create(name=role.group_name)


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Dashboard core"

    def ready(self) -> None:
        post_migrate.connect(ensure_role_groups, sender=self)
        from core import logins

        logins.connect()
