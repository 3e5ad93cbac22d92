"""The one JSON cleaner: any value the analysis, the planner or the app builds, as JSON that
every consumer accepts.

Dataclasses become dicts, mappings get string keys, tuples and lists become lists, sets sorted
lists, dates ISO strings; numpy scalars and arrays become Python numbers and lists; a float
that is not finite becomes ``null`` (PostgreSQL's JSON refuses NaN and infinity, and a report
invents nothing to fill a gap). Pure stdlib (numpy is read by duck typing), so every layer,
the pure domains included, may use it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from datetime import date
from typing import Any


def json_safe(value: Any, *, digits: int | None = None) -> Any:
    """A JSON-ready copy of ``value``; ``digits`` rounds every float (the report keeps 6).

    Anything else is refused with a TypeError rather than written as something else.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: json_safe(getattr(value, f.name), digits=digits)
                for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): json_safe(v, digits=digits) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v, digits=digits) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(json_safe(v, digits=digits) for v in value)
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):  # numpy's float64 too: a Python float comes out
        number = float(value)
        if not math.isfinite(number):
            return None
        return round(number, digits) if digits is not None else number
    if isinstance(value, date):
        return value.isoformat()
    tolist = getattr(value, "tolist", None)  # numpy scalars (a number) and arrays (lists)
    if callable(tolist):
        return json_safe(tolist(), digits=digits)
    if hasattr(value, "__float__"):
        return json_safe(float(value), digits=digits)
    raise TypeError(f"not JSON-ready: {type(value).__name__}")
