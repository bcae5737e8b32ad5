from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"
    verbose_name = "Inventory"

    def ready(self) -> None:
        from inventory import scrub
        from jobs import describe
        from jobs.models import Job

        describe.register(Job.Kind.SCRUB, outcome=scrub.outcome)
