"""NextGen webhook credentials: issued once, stored as a hash, rotated in one step."""

import hashlib

import pytest
from django.db import IntegrityError, transaction

from webhooks.models import NextGenCredential
from webhooks.services import (
    CredentialExists,
    api_key_hash,
    nextgen_credential_issue,
    nextgen_credential_tenant,
)

pytestmark = pytest.mark.django_db


def test_issued_key_is_stored_only_as_its_sha256(agent):
    credential, api_key = nextgen_credential_issue(tenant=agent)

    credential.refresh_from_db()
    assert credential.key_hash == hashlib.sha256(api_key.encode()).hexdigest()
    assert credential.key_hash != api_key
    assert len(api_key) >= 32
    assert credential.is_active
    assert credential.tenant == agent


def test_issued_pairs_are_unique(agent, other_agent):
    first, first_key = nextgen_credential_issue(tenant=agent)
    second, second_key = nextgen_credential_issue(tenant=other_agent)

    assert first.sid != second.sid
    assert first_key != second_key


def test_issue_accepts_a_chosen_pair(agent):
    credential, api_key = nextgen_credential_issue(
        tenant=agent, sid="vendor-sid", api_key="vendor-key"
    )

    assert (credential.sid, api_key) == ("vendor-sid", "vendor-key")
    assert credential.key_hash == api_key_hash("vendor-key")


def test_second_issue_without_rotate_is_refused_and_changes_nothing(agent):
    credential, _ = nextgen_credential_issue(tenant=agent)

    with pytest.raises(CredentialExists):
        nextgen_credential_issue(tenant=agent)

    assert list(NextGenCredential.objects.filter(tenant=agent)) == [credential]
    credential.refresh_from_db()
    assert credential.is_active


def test_rotate_deactivates_the_old_pair_and_issues_a_new_one(agent):
    old, old_key = nextgen_credential_issue(tenant=agent)

    new, new_key = nextgen_credential_issue(tenant=agent, rotate=True)

    old.refresh_from_db()
    assert not old.is_active
    assert old.rotated_at is not None
    assert new.is_active
    assert new.sid != old.sid
    assert new_key != old_key
    assert NextGenCredential.objects.filter(tenant=agent, is_active=True).get() == new


def test_rotate_leaves_other_tenants_alone(agent, other_agent):
    theirs, _ = nextgen_credential_issue(tenant=other_agent)
    nextgen_credential_issue(tenant=agent)

    nextgen_credential_issue(tenant=agent, rotate=True)

    theirs.refresh_from_db()
    assert theirs.is_active
    assert theirs.rotated_at is None


def test_rotating_twice_keeps_one_active_pair(agent):
    nextgen_credential_issue(tenant=agent)
    nextgen_credential_issue(tenant=agent, rotate=True)
    last, _ = nextgen_credential_issue(tenant=agent, rotate=True)

    assert NextGenCredential.objects.filter(tenant=agent).count() == 3
    assert list(NextGenCredential.objects.filter(tenant=agent, is_active=True)) == [last]


def test_database_allows_only_one_active_pair_per_tenant(agent):
    nextgen_credential_issue(tenant=agent)

    with pytest.raises(IntegrityError), transaction.atomic():
        NextGenCredential.objects.create(tenant=agent, sid="second", key_hash=api_key_hash("x"))


def test_database_allows_many_rotated_pairs_per_tenant(agent):
    for number in range(3):
        NextGenCredential.objects.create(
            tenant=agent, sid=f"old-{number}", key_hash=api_key_hash("x"), is_active=False
        )

    nextgen_credential_issue(tenant=agent)

    assert NextGenCredential.objects.filter(tenant=agent).count() == 4


def test_database_refuses_a_sid_twice_even_across_tenants(agent, other_agent):
    nextgen_credential_issue(tenant=agent, sid="shared-sid")

    with pytest.raises(IntegrityError), transaction.atomic():
        nextgen_credential_issue(tenant=other_agent, sid="shared-sid")

    assert not NextGenCredential.objects.filter(tenant=other_agent).exists()


def test_rotating_to_a_taken_sid_keeps_the_old_pair_active(agent, other_agent):
    nextgen_credential_issue(tenant=other_agent, sid="taken-sid")
    current, _ = nextgen_credential_issue(tenant=agent)

    with pytest.raises(IntegrityError):
        nextgen_credential_issue(tenant=agent, rotate=True, sid="taken-sid")

    current.refresh_from_db()
    assert current.is_active


# --- Looking a tenant up by its pair ----------------------------------------------------------


def test_the_active_pair_identifies_its_tenant(agent):
    credential, api_key = nextgen_credential_issue(tenant=agent)

    assert nextgen_credential_tenant(sid=credential.sid, api_key=api_key) == agent.pk


@pytest.mark.parametrize(
    ("sid", "api_key"),
    [("wrong-sid", None), (None, "wrong-key"), ("", None), (None, ""), ("", "")],
)
def test_a_wrong_or_missing_half_identifies_no_one(agent, sid, api_key):
    credential, real_key = nextgen_credential_issue(tenant=agent)

    tenant = nextgen_credential_tenant(
        sid=credential.sid if sid is None else sid,
        api_key=real_key if api_key is None else api_key,
    )

    assert tenant is None


def test_the_key_hash_itself_is_not_a_key(agent):
    credential, _ = nextgen_credential_issue(tenant=agent)

    assert nextgen_credential_tenant(sid=credential.sid, api_key=credential.key_hash) is None


def test_a_rotated_pair_identifies_no_one(agent):
    old, old_key = nextgen_credential_issue(tenant=agent)
    new, new_key = nextgen_credential_issue(tenant=agent, rotate=True)

    assert nextgen_credential_tenant(sid=old.sid, api_key=old_key) is None
    assert nextgen_credential_tenant(sid=new.sid, api_key=new_key) == agent.pk
