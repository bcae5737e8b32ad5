import os

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the superuser named by DJANGO_SUPERUSER_USERNAME/PASSWORD when it does not exist yet."

    def handle(self, *args: object, **options: object) -> None:
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME", "")
        if not username or not os.environ.get("DJANGO_SUPERUSER_PASSWORD"):
            self.stdout.write("DJANGO_SUPERUSER_USERNAME/PASSWORD not set: no superuser created.")
            return
        if get_user_model().objects.filter(username=username).exists():
            self.stdout.write(f"Superuser {username!r} exists already.")
            return
        os.environ.setdefault("DJANGO_SUPERUSER_EMAIL", f"{username}@localhost")
        call_command("createsuperuser", interactive=False, username=username)
        self.stdout.write(f"Created superuser {username!r}.")
