import hashlib
import secrets

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from webhooks.models import NextGenCredential


class CredentialExists(Exception):
    """The agent already has active credentials and no rotation was asked for."""


def api_key_hash(api_key: str) -> str:
    # The key is 32 random bytes, so a fast digest is as safe as a slow one and keeps the
    # webhook's hot path cheap.
    return hashlib.sha256(api_key.encode()).hexdigest()


def nextgen_credential_issue(
    *, tenant: AbstractBaseUser, rotate: bool = False, sid: str = "", api_key: str = ""
) -> tuple[NextGenCredential, str]:
    """Create the tenant's webhook credentials and return them with the plain api key.

    With `rotate`, the active pair stops working at once and a new pair replaces it.
    The plain key exists only in the return value: it is stored as a hash.
    """
    with transaction.atomic():
        active = NextGenCredential.objects.select_for_update().filter(tenant=tenant, is_active=True)
        if active.exists():
            if not rotate:
                raise CredentialExists(f"{tenant} already has NextGen credentials")
            active.update(is_active=False, rotated_at=timezone.now())
        api_key = api_key or secrets.token_urlsafe(32)
        credential = NextGenCredential.objects.create(
            tenant=tenant,
            sid=sid or f"ng_{secrets.token_hex(8)}",
            key_hash=api_key_hash(api_key),
        )
    return credential, api_key
