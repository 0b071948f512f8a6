"""Django's database sessions, refusing a cookie that cannot be a session key before any query.

Keys Django makes are 32 lower-case letters and digits. Without this check a cookie holding a
NUL (`sessionid="…\\000…"` unquotes to one) reaches PostgreSQL on every page and socket: a 500.
"""

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore

MAX_SESSION_KEY_LENGTH = 40


class SessionStore(DatabaseSessionStore):
    def _validate_session_key(self, key: str | None) -> bool:
        return (
            key is not None
            and 8 <= len(key) <= MAX_SESSION_KEY_LENGTH
            and key.isascii()
            and key.isalnum()
        )
