from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "access"
    verbose_name = "Registry access"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The registry client (which imports no app) signs the dashboard's own tokens through this
        # provider when the registry's realm is this dashboard (access.tokens.own_token says when).
        from access import tokens
        from registry_client import client

        client.set_token_provider(tokens.own_token)
