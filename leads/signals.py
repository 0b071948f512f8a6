"""Where the end of a session or of a password reaches open sockets (docs/security.md).

Signals, not calls from views: passwords change and users are deactivated through code this
project does not own (the admin's forms, `manage.py changepassword`, a shell), all of it saving
Django's own User model, whose one common hook is its `post_save`; logout is Django's view, and
`user_logged_out` is how it tells. The receivers only call services.
"""

from typing import Any

from django.http import HttpRequest

from leads.services import session_access_end, user_access_end


def end_session_sockets_on_logout(sender: Any, request: HttpRequest | None, **kwargs: Any) -> None:
    # Sent before the session is flushed: its key still names the sockets opened with it.
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if session_key:
        session_access_end(session_key=session_key)


def end_user_access_on_credential_change(
    sender: Any, instance: Any, created: bool, **kwargs: Any
) -> None:
    if created:
        return
    # `set_password` keeps the new raw password on `_password` until the save has finished:
    # the same mark Django's own `password_changed` hook relies on.
    password_changed = getattr(instance, "_password", None) is not None
    if password_changed or not instance.is_active:
        user_access_end(user_id=instance.pk)
