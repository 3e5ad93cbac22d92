"""Text from requests: what every stored string must satisfy.

PostgreSQL refuses a NUL character (U+0000) anywhere in text (SQLite stores it), so a NUL in
a field that reaches the database would be refused there, after the route ran. Request
fields that are stored use ``Text`` and are refused up front, with the field named, on
every database alike.
"""

from __future__ import annotations

import string
from typing import Annotated

from pydantic import AfterValidator

HEX_DIGITS = "0123456789abcdef"
URL_SAFE = string.ascii_letters + string.digits + "-_"

NUL_MESSAGE = ("contains a NUL character (\\u0000), which cannot be stored: remove it and "
               "send the text again")


def has_nul(value: str) -> bool:
    return "\x00" in value


def refuse_nul(value: str) -> str:
    if has_nul(value):
        raise ValueError(NUL_MESSAGE)
    return value


Text = Annotated[str, AfterValidator(refuse_nul)]


def well_formed(value: str, alphabet: str, max_length: int, *, min_length: int = 1) -> bool:
    """Whether ``value`` could be a code, token or id written in ``alphabet``.

    Lookups of what a URL names use it: a value that cannot be one (a NUL among others, which
    PostgreSQL refuses in a query) is found nowhere, without asking the database.
    """
    return min_length <= len(value) <= max_length and all(c in alphabet for c in value)


def displayable(value: str | None, max_length: int) -> str | None:
    """Text a client sent only to show back (a file's name): control characters, NUL among
    them, dropped and the rest cut to ``max_length``; None when nothing is left."""
    if value is None:
        return None
    kept = "".join(c for c in value if c.isprintable())[:max_length].strip()
    return kept or None
