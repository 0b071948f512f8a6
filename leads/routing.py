from django.urls import re_path

from leads.consumers import LeadConsumer

websocket_urlpatterns = [
    re_path(r"^ws/leads/?$", LeadConsumer.as_asgi()),
]
