from django.urls import re_path

from webhooks.apis import NextGenWebhookApi

app_name = "webhooks"

urlpatterns = [
    re_path(r"^webhooks/nextgen/?$", NextGenWebhookApi.as_view(), name="nextgen"),
]
