import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from webhooks.services import CredentialExists, nextgen_credential_issue


class Command(BaseCommand):
    help = (
        "Create (or with --rotate replace) an agent's NextGen webhook credentials and print them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--rotate", action="store_true", help="Replace the active pair.")
        parser.add_argument("--json", action="store_true", help='Print {"sid", "apikey"} only.')

    def handle(self, *args: object, **options: object) -> None:
        username = str(options["username"])
        try:
            agent = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No agent named {username!r}.") from None
        try:
            credential, api_key = nextgen_credential_issue(
                tenant=agent, rotate=bool(options["rotate"])
            )
        except CredentialExists:
            raise CommandError(
                f"{username!r} already has NextGen credentials; the key is stored only as a hash "
                "and cannot be shown again. Use --rotate to replace them."
            ) from None
        if options["json"]:
            self.stdout.write(json.dumps({"sid": credential.sid, "apikey": api_key}))
            return
        self.stdout.write(f"NextGen credentials for {username}:")
        self.stdout.write(f"  sid:    {credential.sid}")
        self.stdout.write(f"  apikey: {api_key}")
        self.stdout.write("The apikey is shown only now; store it in the vendor's portal.")
