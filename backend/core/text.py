"""Text from requests: what every stored string must satisfy.

PostgreSQL refuses a NUL character (U+0000) anywhere in text (SQLite stores it), so a NUL in
a field that reaches the database would be refused there, after the route ran. Request
fields that are stored use ``Text`` and are refused up front, with the field named, on
every database alike.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

NUL_MESSAGE = ("contains a NUL character (\\u0000), which cannot be stored: remove it and "
               "send the text again")


def refuse_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError(NUL_MESSAGE)
    return value


Text = Annotated[str, AfterValidator(refuse_nul)]
