"""The one-line summary every API error carries next to its field errors."""

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
