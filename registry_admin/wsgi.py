import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_admin.settings")
django_application = get_wsgi_application()

# The registry's notifications are answered ahead of Django's handler (inventory/events_wsgi.py).
from inventory.events_wsgi import EventsApplication  # noqa: E402 - needs the settings above

application = EventsApplication(django_application)
