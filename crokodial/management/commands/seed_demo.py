from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from leads.models import Lead, LeadSource
from leads.normalize import normalize_phone, time_zone_for
from leads.services import agent_create
from webhooks.models import NextGenCredential
from webhooks.services import nextgen_credential_issue

# Public demo logins for the embedded default; never use them on a reachable server.
DEMO_AGENTS = (
    ("admin", "crokodial-admin", True),
    ("agent", "crokodial-agent", False),
    ("agent2", "crokodial-agent2", False),
)
DEMO_NEXTGEN = {"agent": ("demo-agent-sid", "demo-agent-apikey")}
DEMO_LEADS = (
    (
        "Rosa",
        "Delgado",
        "(210) 461-2290",
        "rosa.delgado@example.com",
        "TX",
        LeadSource.NEXTGEN,
    ),
    (
        "James",
        "Anderson",
        "516.200.0003",
        "james.anderson@example.com",
        "NY",
        LeadSource.MARKETPLACE,
    ),
    ("Renee", "Johnson", "214-200-0004", "renee.johnson@example.com", "TX", LeadSource.NEXTGEN),
    ("William", "Lee", "(973) 200-0005", "william.lee@example.com", "NJ", LeadSource.CSV_IMPORT),
    ("Linda", "Martin", "(617) 200-0010", "linda.martin@example.com", "MA", LeadSource.MARKETPLACE),
)


class Command(BaseCommand):
    help = "Create demo agents, NextGen credentials and sample leads; safe to run again."

    def handle(self, *args: object, **options: object) -> None:
        if not settings.DEBUG:
            # The demo superuser's password is printed in the README: never on a real server.
            raise CommandError(
                "seed_demo creates logins whose passwords are public; it runs only with "
                "DJANGO_DEBUG=1 (a local, embedded setup)."
            )
        users = get_user_model().objects
        for username, password, is_admin in DEMO_AGENTS:
            if not users.filter(username=username).exists():
                agent_create(username=username, password=password, is_admin=is_admin)
        agent = users.get(username="agent")
        for username, (sid, api_key) in DEMO_NEXTGEN.items():
            tenant = users.get(username=username)
            # A demo pair that was rotated or switched off stays so: its sid is never reissued.
            issued = NextGenCredential.objects.filter(Q(tenant=tenant, is_active=True) | Q(sid=sid))
            if not issued.exists():
                nextgen_credential_issue(tenant=tenant, sid=sid, api_key=api_key)
        for first, last, phone, email, state, source in DEMO_LEADS:
            e164 = normalize_phone(phone)
            # The agent may have edited a demo lead's phone or email; either still marks it seeded.
            if Lead.objects.filter(Q(phone=e164) | Q(email=email), tenant=agent).exists():
                continue
            Lead.objects.create(
                tenant=agent,
                first_name=first,
                last_name=last,
                phone=e164,
                email=email,
                state=state,
                source=source,
                time_zone=time_zone_for(state, e164),
            )
        self.stdout.write("Demo logins (embedded default only):")
        for username, password, is_admin in DEMO_AGENTS:
            self.stdout.write(f"  {username} / {password}{'  (admin)' if is_admin else ''}")
        for username, (sid, api_key) in DEMO_NEXTGEN.items():
            if NextGenCredential.objects.filter(sid=sid, is_active=True).exists():
                self.stdout.write(f"  NextGen webhook for {username}: sid={sid} apikey={api_key}")
            else:
                self.stdout.write(
                    f"  NextGen webhook for {username}: the demo pair was replaced; "
                    f"run `manage.py nextgen_credentials {username} --rotate` for a new one"
                )
