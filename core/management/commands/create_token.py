from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from core import tokens
from core.roles import Role


class Command(BaseCommand):
    help = (
        "Make a named API token for USER with a role no higher than the user's, and print it "
        "(only this once: it is stored hashed). Scripts send it as 'Authorization: Token <token>'."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", required=True, help="what uses it, e.g. ci-push")
        parser.add_argument("--role", default="viewer", choices=[role.group_name for role in Role])
        parser.add_argument("--expires-days", type=int, default=None, help="expire after this many days")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = get_user_model().objects.get(username=options["username"])
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user {options['username']!r}.") from None
        days = options["expires_days"]
        if days is not None and days < 1:
            raise CommandError("--expires-days must be at least 1.")
        expires_at = timezone.now() + timedelta(days=days) if days else None
        try:
            _token, raw = tokens.create(
                user, options["name"], options["role"], expires_at=expires_at, via="command line"
            )
        except tokens.TokenInvalid as e:
            raise CommandError(" ".join(f"{field}: {message}" for field, message in e.errors.items())) from None
        self.stdout.write(raw)
