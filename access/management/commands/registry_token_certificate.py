"""Make the token signing key and its certificate if missing; print the certificate's path (or the PEM).

The web container runs it on start, so the registry's ``rootcertbundle`` file exists before the
registry needs it.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from access import signing


class Command(BaseCommand):
    help = "Make the registry token signing key and certificate in DATA_DIR when missing; print the certificate's path."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--pem", action="store_true", help="print the certificate itself instead of its path")

    def handle(self, *args: Any, **options: Any) -> None:
        key = signing.signing_key()
        self.stdout.write(key.certificate_pem.decode() if options["pem"] else str(signing.certificate_path()))
