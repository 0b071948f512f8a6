"""The limits every door applies to what clients send, in one place (docs/api-errors.md).

Each bound acts before a value reaches a column, a query or a recursive walk: a number past its
column, a page past what an OFFSET can hold, or JSON nested deeper than any lead needs is refused
with a 400 (or, where a lead was already acknowledged, capped with a logged warning).
No Django imports: the normalisers, parsers and models all share these.
"""

import json
import re
from decimal import Decimal
from typing import Any

# Lead.price and Lead.premium_price: NUMERIC(10, 2). PostgreSQL refuses more with an error.
PRICE_MAX_DIGITS = 10
PRICE_DECIMAL_PLACES = 2
MAX_PRICE = Decimal(10 ** (PRICE_MAX_DIGITS - PRICE_DECIMAL_PLACES)) - Decimal("0.01")

# Pages of a list: (page - 1) * limit must stay far inside a bigint OFFSET; past the last page a
# list answers an empty page.
MAX_PAGE = 1_000_000
# Object ids in URLs: at most 18 digits, always inside a bigint.
ID_PATTERN = "[0-9]{1,18}"
MAX_ID = 10**18 - 1

# Free text an agent types on a lead (notes), bounded although its column is not.
MAX_NOTES_LENGTH = 10_000
# Passwords are hashed whole: bound the work a login can ask for.
MAX_PASSWORD_LENGTH = 4096

# No lead field nests: a vendor's extras may hold small objects, never more than this.
MAX_JSON_DEPTH = 32
NUL = "\x00"

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


class JsonTooDeep(ValueError):
    """The document nests arrays and objects deeper than MAX_JSON_DEPTH."""


def json_depth_exceeds(text: str, max_depth: int = MAX_JSON_DEPTH) -> bool:
    """Whether `text` nests brackets deeper than `max_depth`, outside of strings.

    Cheap for ordinary bodies: with no more opening brackets than `max_depth` there is nothing to
    count. Otherwise strings are cut out (they may hold brackets) and the nesting is walked once.
    """
    if text.count("[") + text.count("{") <= max_depth:
        return False
    depth = 0
    for bracket in _BRACKETS.findall(_STRINGS.sub("", text)):
        if bracket in "[{":
            depth += 1
            if depth > max_depth:
                return True
        else:
            depth -= 1
    return False


def json_loads_bounded(data: str | bytes, **kwargs: Any) -> Any:
    """`json.loads`, refusing documents nested deeper than MAX_JSON_DEPTH with JsonTooDeep.

    Without the bound, a body of a thousand brackets makes the parser (or whatever walks the
    result later) raise RecursionError: a 500 instead of a 400.
    """
    if isinstance(data, bytes | bytearray):
        data = data.decode(json.detect_encoding(data), "surrogatepass")
    text = data
    if json_depth_exceeds(text):
        raise JsonTooDeep(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(text, **kwargs)
    except RecursionError:
        raise JsonTooDeep(f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None


def int_fits_64_bits(value: int) -> bool:
    return -(2**63) <= value < 2**64
