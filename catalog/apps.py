from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog"

    def ready(self) -> None:
        from catalog.health import check_registry, unreachable_reason
        from core import health, reachability

        health.register("registry", check_registry)
        reachability.register(reachability.REGISTRY, unreachable_reason)
