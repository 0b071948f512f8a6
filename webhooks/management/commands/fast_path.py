import getpass
import os

from django.core.management.base import BaseCommand

from webhooks.switch import fast_path_enabled, fast_path_set


class Command(BaseCommand):
    help = (
        "Turn the webhook fast path on or off for every running web process (within seconds, "
        "without a restart), or print its state: on or off."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("state", choices=["on", "off", "status"])

    def handle(self, *args, state: str, **options) -> None:
        if state != "status":
            try:
                user = getpass.getuser()
            except (KeyError, OSError):
                user = str(os.getuid())
            change = fast_path_set(
                enabled=state == "on", changed_by=f"manage.py fast_path {state} ({user})"
            )
            self.stderr.write(f"fast path turned {state}, recorded as #{change.pk}")
        self.stdout.write("on" if fast_path_enabled() else "off")
