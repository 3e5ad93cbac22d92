"""core/text.py: what request text must satisfy before it is stored or looked up."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from backend.core.text import HEX_DIGITS, URL_SAFE, Text, displayable, well_formed


class Note(BaseModel):
    text: Text


def test_text_refuses_a_nul_and_keeps_the_rest() -> None:
    assert Note(text="Run tall ✓").text == "Run tall ✓"
    with pytest.raises(ValidationError, match="NUL character"):
        Note(text="Run\x00 tall")


@pytest.mark.parametrize("value, expected", [
    ("run.mp4", "run.mp4"),
    ("my\x00run\x07.mp4", "myrun.mp4"),
    ("  IMG_0001.MOV\r\n", "IMG_0001.MOV"),
    ("\x00\x01", None),
    (None, None),
    ("ä" * 300, "ä" * 255),
])
def test_displayable_drops_control_characters_and_cuts(value: str | None,
                                                      expected: str | None) -> None:
    assert displayable(value, 255) == expected


@pytest.mark.parametrize("value, alphabet, max_length, expected", [
    ("0123456789abcdef" * 2, HEX_DIGITS, 32, True),
    ("0123456789ABCDEF" * 2, HEX_DIGITS, 32, False),
    ("abc\x00", HEX_DIGITS, 32, False),
    ("", URL_SAFE, 64, False),
    ("aZ09-_", URL_SAFE, 64, True),
    ("a" * 65, URL_SAFE, 64, False),
    ("a/b", URL_SAFE, 64, False),
])
def test_well_formed(value: str, alphabet: str, max_length: int, expected: bool) -> None:
    assert well_formed(value, alphabet, max_length) is expected
