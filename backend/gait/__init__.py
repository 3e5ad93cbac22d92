"""Running-form analysis: from a landmark track to gait events, metrics, faults and the chain
reading. Pure numpy/scipy: no web or database imports (docs/gait.md)."""

from backend.gait.analyze import analyze
from backend.gait.types import (
    SCHEMA_VERSION,
    AthleteInfo,
    ChainLink,
    ClipQuality,
    Events,
    Evidence,
    Fault,
    Metric,
    Report,
    StrideValue,
    ViewInfo,
)

__all__ = [
    "SCHEMA_VERSION",
    "AthleteInfo",
    "ChainLink",
    "ClipQuality",
    "Events",
    "Evidence",
    "Fault",
    "Metric",
    "Report",
    "StrideValue",
    "ViewInfo",
    "analyze",
]
