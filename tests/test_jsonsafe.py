"""The one JSON cleaner (``backend.jsonsafe``): what the report, the plan and the stored rows
are written with."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pytest

from backend.jsonsafe import json_safe


@dataclass
class Inner:
    at: date
    tags: frozenset[str]


def test_everything_becomes_plain_json() -> None:
    value = {
        1: [np.float64(1.23456789), np.int64(3), np.bool_(True), np.array([1.0, np.nan])],
        "t": (math.inf, -math.inf, math.nan, None, "x", True, 2),
        "d": Inner(date(2026, 12, 5), frozenset({"b", "a"})),
        "when": datetime(2026, 12, 5, 10, 30),
    }
    out = json_safe(value)
    assert out == {
        "1": [1.23456789, 3, True, [1.0, None]],
        "t": [None, None, None, None, "x", True, 2],
        "d": {"at": "2026-12-05", "tags": ["a", "b"]},
        "when": "2026-12-05T10:30:00",
    }
    assert type(out["1"][0]) is float and type(out["1"][1]) is int
    json.dumps(out, allow_nan=False)


def test_digits_round_every_float() -> None:
    assert json_safe({"a": [np.float64(0.1234567891), 2.0000004]}, digits=6) == {
        "a": [0.123457, 2.0]}


def test_anything_else_is_refused() -> None:
    with pytest.raises(TypeError, match="not JSON-ready"):
        json_safe({"x": object()})


def test_no_other_cleaner_is_left() -> None:
    from backend.clips import pipeline
    from backend.gait import types
    from backend.planner import types as planner_types

    assert not hasattr(pipeline, "clean_json") and not hasattr(types, "_clean")
    assert planner_types.to_jsonable(Inner(date(2026, 1, 2), frozenset())) == {
        "at": "2026-01-02", "tags": []}
