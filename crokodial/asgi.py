import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crokodial.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402 - needs the app registry loaded
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from crokodial.outages import refuse_sockets_during_outages  # noqa: E402
from leads.routing import websocket_urlpatterns  # noqa: E402
from webhooks.asgi import with_vendor_webhook  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": with_vendor_webhook(django_asgi_app),
        "websocket": refuse_sockets_during_outages(
            AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
        ),
    }
)
