"""WSGI entry point (admin and API only; WebSockets need the ASGI application)."""

import os

from django.core.wsgi import get_wsgi_application

from command_center.gcfreeze import freeze_after_import

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "command_center.settings")
application = get_wsgi_application()
freeze_after_import()  # after the app and its views are loaded: full GC passes stop walking them
