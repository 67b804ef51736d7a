"""ASGI entry point: HTTP through Django, WebSockets under /ws/ through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "command_center.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs the apps loaded above)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from command_center import heartbeat, metrics  # noqa: E402
from command_center.gcfreeze import freeze_after_import  # noqa: E402
from command_center.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)

freeze_after_import()  # after the app and its views are loaded: full GC passes stop walking them

# /healthz (served by the web server) sees that a process serving /ws/ is alive by this heartbeat. A thread,
# not a task on the server's event loop: daphne does not run the ASGI lifespan protocol, so nothing would
# start such a task before the first socket connects.
heartbeat.keep_beating(heartbeat.WS)
# /metrics counts the open board sockets of every ASGI process by what each publishes in Redis.
metrics.keep_publishing_sockets()
