from django.urls import re_path

from webhooks.apis import NextGenWebhookApi
from webhooks.routes import NEXTGEN_WEBHOOK_ROUTE

app_name = "webhooks"

urlpatterns = [
    re_path(rf"^{NEXTGEN_WEBHOOK_ROUTE}$", NextGenWebhookApi.as_view(), name="nextgen"),
]
