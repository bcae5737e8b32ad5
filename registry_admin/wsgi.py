import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_admin.settings")
# Django's own application: registry_admin/asgi.py runs it in a thread pool (make run, the image).
application = get_wsgi_application()
