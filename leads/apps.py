from django.apps import AppConfig


class LeadsConfig(AppConfig):
    name = "leads"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.signals import user_logged_out
        from django.db.models.signals import post_save

        from leads import signals

        user_logged_out.connect(signals.end_session_sockets_on_logout, dispatch_uid="leads.logout")
        post_save.connect(
            signals.end_user_access_on_credential_change,
            sender=get_user_model(),
            dispatch_uid="leads.credential_change",
        )
