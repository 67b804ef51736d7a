"""WSGI entry point (admin and API only; WebSockets need the ASGI application)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "command_center.settings")
application = get_wsgi_application()
