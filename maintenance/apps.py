from django.apps import AppConfig


class MaintenanceConfig(AppConfig):
    name = "maintenance"
    verbose_name = "Maintenance"

    def ready(self) -> None:
        from core import health
        from maintenance.health import check_docker

        health.register("docker", check_docker)
