"""The refusals services raise (HTTP lives in crokodial.api_errors), and the one-line summary
every API error carries next to its field errors."""

from typing import Any


def first_message(detail: Any) -> str:
    """Return the first error in a DRF error `detail`, prefixed with its field name."""
    if isinstance(detail, dict):
        for name, value in detail.items():
            message = first_message(value)
            return message if name == "non_field_errors" else f"{name}: {message}"
        return "Invalid request."
    if isinstance(detail, list):
        return first_message(detail[0]) if detail else "Invalid request."
    return str(detail)


class Refused(Exception):
    """A request the rules refuse, in the rules' words.

    Services raise these, never HTTP errors: crokodial.api_errors.exception_handler answers each
    kind with its status, in one place. `fields` names the inputs at fault, as a form's errors.
    """

    def __init__(self, message: str, fields: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message, self.fields = message, fields


class InvalidInput(Refused):
    """What was sent breaks a rule (400 under /api/)."""

    def __init__(self, fields: dict[str, Any]) -> None:
        super().__init__(first_message(fields), fields)


class TooLarge(Refused):
    """What was sent is over its limit (413)."""


class Busy(Refused):
    """The thing is in a state that refuses this now; later it may not (409)."""


class Expired(Refused):
    """The time to do this is over, for good (410)."""
