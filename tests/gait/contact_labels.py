"""The hand-labelled contacts of the real running clips (tests/fixtures/real_running/
contacts_*.json), read as the two raters' consensus.

Two raters labelled each clip by eye, the second blind to the first and to the analysis. Each
first-rater contact is paired with the second rater's contact of the same foot nearest to it;
the consensus frame is their mean (a half frame where they differ by one).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "real_running"
# Two raters' frames for one contact further apart than this are not the same contact.
PAIR_FRAMES = 3


@dataclass(frozen=True)
class LabelledContact:
    foot: str
    first_frame: int
    second_frame: int

    @property
    def frame(self) -> float:
        return 0.5 * (self.first_frame + self.second_frame)


def labels(clip: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (FIXTURES / f"contacts_{Path(clip).stem}.json").read_text())
    return data


def consensus(data: dict[str, Any]) -> list[LabelledContact]:
    """Every first-rater contact with its second-rater partner; AssertionError when one has
    none (the raters disagree on whether there is a contact)."""
    second = data["second_rater"]["contacts"]
    out = []
    for c in data["contacts"]:
        f = c["initial_contact_frame"]
        mates = [s["initial_contact_frame"] for s in second if s["foot"] == c["foot"]
                 and abs(s["initial_contact_frame"] - f) <= PAIR_FRAMES]
        assert mates, f"the second rater has no {c['foot']} contact near frame {f}"
        out.append(LabelledContact(c["foot"], f, min(mates, key=lambda m: abs(m - f))))
    return out
