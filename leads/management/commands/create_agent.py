from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from leads.services import agent_create


class Command(BaseCommand):
    help = "Create an agent (a tenant). --admin makes a staff superuser."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--password", required=True)
        parser.add_argument("--email", default="")
        parser.add_argument("--admin", action="store_true")

    def handle(self, *args: object, **options: object) -> None:
        username = str(options["username"])
        if get_user_model().objects.filter(username=username).exists():
            raise CommandError(f"User {username!r} already exists.")
        agent_create(
            username=username,
            password=str(options["password"]),
            email=str(options["email"]),
            is_admin=bool(options["admin"]),
        )
        role = "admin agent" if options["admin"] else "agent"
        self.stdout.write(self.style.SUCCESS(f"Created {role} {username!r}."))
