from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"

    def ready(self) -> None:
        # Registers the webhook tasks in every process: the dead letters queue one by name
        # (webhooks.dead_letters.NEXTGEN_LEAD_PERSIST_TASK), and eager runs need it registered.
        from webhooks import tasks  # noqa: F401
