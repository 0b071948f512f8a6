import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crokodial.settings")
django.setup(set_prefix=False)

from channels.auth import AuthMiddlewareStack  # noqa: E402 - needs the app registry loaded
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from crokodial.edge import BodyLengthASGIHandler, with_edge_limits  # noqa: E402
from crokodial.outages import refuse_sockets_during_outages  # noqa: E402
from leads.routing import websocket_urlpatterns  # noqa: E402
from webhooks.asgi import with_vendor_webhook  # noqa: E402

django_asgi_app = BodyLengthASGIHandler()

application = ProtocolTypeRouter(
    {
        # The edge wraps everything HTTP: limits act before a body is read (docs/security.md).
        "http": with_edge_limits(with_vendor_webhook(django_asgi_app)),
        "websocket": refuse_sockets_during_outages(
            AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
        ),
    }
)
