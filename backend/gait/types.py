"""The report and its parts: plain dataclasses that round-trip through JSON.

``Report.to_dict()`` is what other parts of StrideLab read (the planner, the app, stored
reports), so its shape is versioned by ``SCHEMA_VERSION``. Floats that are not finite become
``null``; nothing is invented to fill a gap.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Literal, cast

# One vocabulary of faults, severities and chain links: gait's catalogue, read by the planner.
from backend.gait.catalogue import CHAIN_LINKS, SEVERITIES
from backend.jsonsafe import json_safe

SCHEMA_VERSION = 1

View = Literal["rear", "front", "side"]
ViewRequest = Literal["rear", "front", "side", "auto"]
VIEWS: tuple[str, ...] = ("rear", "front", "side")
Side = Literal["left", "right"]
SIDES: tuple[Side, Side] = ("left", "right")
QUALITIES: tuple[str, ...] = ("good", "low", "withheld")


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass
class AthleteInfo:
    """What the athlete may tell us; every field optional."""

    height_m: float | None = None
    # Greater trochanter to the floor, standing: how people measure "leg length" with a tape.
    leg_length_m: float | None = None
    treadmill_speed_mps: float | None = None

    def __post_init__(self) -> None:
        for name in ("height_m", "leg_length_m", "treadmill_speed_mps"):
            v = getattr(self, name)
            if v is not None and not (math.isfinite(float(v)) and float(v) > 0):
                raise ValueError(f"{name} must be a positive number, got {v!r}")


@dataclass
class StrideValue:
    """One stride's (or step's) value: when it was measured and on which side."""

    t_s: float  # time of the frame that shows it (a real frame timestamp)
    side: Side | None
    value: float


@dataclass
class Metric:
    key: str
    unit: str
    value: float | None = None  # median over strides (steps for per-step metrics)
    left: float | None = None
    right: float | None = None
    n_strides: int = 0  # how many per-stride values are behind ``value``
    n_left: int = 0
    n_right: int = 0
    spread: float | None = None  # interquartile range of the per-stride values
    asymmetry: float | None = None  # left minus right
    quality: str = "withheld"  # good | low | withheld
    withheld_reason: str | None = None
    plane: str | None = None  # "frontal", "sagittal" or None (timing)
    definition: str = ""
    typical: str = ""
    notes: list[str] = field(default_factory=list)
    world_landmarks_used: bool = False
    visibility: float | None = None  # mean visibility of the landmarks it used
    per_stride: list[StrideValue] = field(default_factory=list)

    @property
    def available(self) -> bool:
        return self.value is not None

    def side_value(self, side: Side | None) -> float | None:
        if side == "left":
            return self.left
        if side == "right":
            return self.right
        return self.value

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Metric:
        return cls(
            key=d["key"],
            unit=d.get("unit", ""),
            value=_opt_float(d.get("value")),
            left=_opt_float(d.get("left")),
            right=_opt_float(d.get("right")),
            n_strides=int(d.get("n_strides", 0)),
            n_left=int(d.get("n_left", 0)),
            n_right=int(d.get("n_right", 0)),
            spread=_opt_float(d.get("spread")),
            asymmetry=_opt_float(d.get("asymmetry")),
            quality=d.get("quality", "withheld"),
            withheld_reason=d.get("withheld_reason"),
            plane=d.get("plane"),
            definition=d.get("definition", ""),
            typical=d.get("typical", ""),
            notes=list(d.get("notes", [])),
            world_landmarks_used=bool(d.get("world_landmarks_used", False)),
            visibility=_opt_float(d.get("visibility")),
            per_stride=[
                StrideValue(float(s["t_s"]), s.get("side"), float(s["value"]))
                for s in d.get("per_stride", [])
                if s.get("value") is not None
            ],
        )


@dataclass
class Evidence:
    metric: str
    values: list[float] = field(default_factory=list)  # per stride, the fault's side
    frame_times_s: list[float] = field(default_factory=list)  # frames that show each value
    sides: list[Side | None] = field(default_factory=list)
    key_frame_s: float | None = None  # the most representative frame (median stride)
    supporting: dict[str, float | None] = field(default_factory=dict)  # other metrics read


@dataclass
class Fault:
    code: str
    title: str
    severity: str  # mild | moderate | marked
    side: Side | None
    confidence: float  # [0, 1]
    value: float | None
    threshold: float
    unit: str
    evidence: Evidence
    why_it_matters: str
    cues: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")
        if self.side not in (None, "left", "right"):
            raise ValueError(f"unknown side {self.side!r}")
        self.confidence = float(min(1.0, max(0.0, self.confidence)))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Fault:
        ev = d.get("evidence") or {}
        return cls(
            code=d["code"],
            title=d.get("title", d["code"]),
            severity=d["severity"],
            side=d.get("side"),
            confidence=float(d["confidence"]),
            value=_opt_float(d.get("value")),
            threshold=float(d.get("threshold", 0.0)),
            unit=d.get("unit", ""),
            evidence=Evidence(
                metric=ev.get("metric", ""),
                values=[float(v) for v in ev.get("values", []) if v is not None],
                frame_times_s=[float(v) for v in ev.get("frame_times_s", []) if v is not None],
                sides=list(ev.get("sides", [])),
                key_frame_s=_opt_float(ev.get("key_frame_s")),
                supporting={k: _opt_float(v) for k, v in ev.get("supporting", {}).items()},
            ),
            why_it_matters=d.get("why_it_matters", ""),
            cues=list(d.get("cues", [])),
            notes=list(d.get("notes", [])),
        )


@dataclass
class ChainLink:
    """One "look beyond the hip" reading: a link of the chain the findings point to."""

    link: str  # one of CHAIN_LINKS
    confidence: float
    reasoning: str
    faults: list[str] = field(default_factory=list)  # the fault codes behind it
    side: Side | None = None
    emphasis: list[str] = field(default_factory=list)  # exercises the product pairs with it

    def __post_init__(self) -> None:
        if self.link not in CHAIN_LINKS:
            raise ValueError(f"unknown chain link {self.link!r}")
        self.confidence = float(min(1.0, max(0.0, self.confidence)))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ChainLink:
        return cls(
            link=d["link"],
            confidence=float(d["confidence"]),
            reasoning=d.get("reasoning", ""),
            faults=list(d.get("faults", [])),
            side=d.get("side"),
            emphasis=list(d.get("emphasis", [])),
        )


@dataclass
class ClipQuality:
    fit: bool
    reasons: list[str] = field(default_factory=list)  # why the clip is unfit
    warnings: list[str] = field(default_factory=list)  # what limits an otherwise fit clip
    advice: list[str] = field(default_factory=list)  # how to film again
    duration_s: float = 0.0
    n_frames: int = 0
    fps_measured: float | None = None
    fps_nominal: float | None = None
    person_visible_fraction: float = 0.0
    whole_body_fraction: float = 0.0
    n_steps: int = 0
    n_segments: int = 0
    camera_steady: bool | None = None
    camera_roll_deg: float | None = None
    stance_path_residual_leg: float | None = None
    running: bool | None = None  # False when there is no flight phase (walking)
    treadmill: bool | None = None  # read from the clip (hips in place, stance foot carried)
    belt_speed_leg_per_s: float | None = None  # side on: the stance foot's backward speed
    # The camera's own motion from the background (pose engine), removed before analysis.
    camera_motion_known_fraction: float | None = None
    camera_shift_px: float | None = None  # largest shift from the reference frame
    camera_rotation_deg: float | None = None  # largest roll from the reference frame
    camera_stabilised: bool | None = None  # the landmarks were mapped to a still camera
    leg_swaps_repaired: int = 0  # frames whose left/right leg labels were traded
    # Slow motion: the real capture rate (given by the athlete or stated by the container),
    # and how many real seconds one second of the clip holds (capture / playback rate).
    capture_fps: float | None = None
    time_scale: float = 1.0
    slow_motion: bool | None = None  # True when detected or declared
    # Running in slow motion with no known capture rate: every time-based figure is withheld
    # until the athlete gives it (capture_fps on upload or on the command line).
    needs_capture_fps: bool = False

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ClipQuality:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass
class ViewInfo:
    requested: str  # rear | front | side | auto
    used: View
    inferred: str | None  # rear | front | side | oblique, from the landmarks
    confidence: float  # how sure the inference is, [0, 1]
    camera_angle_deg: float | None  # 0 = straight behind / in front, 90 = side on
    oblique: bool  # the angle defeats the plane the view is meant to measure
    facing: str | None = None  # side view: "right" or "left" of the image
    notes: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ViewInfo:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass
class SideEvents:
    """One foot's events, each list in time order. Pair them by time, not by index: a toe-off
    belongs to the latest contact before it, and a contact cut short by a gap or the end of
    the clip has no toe-off, so ``toe_off_s`` can be shorter."""

    initial_contact_s: list[float] = field(default_factory=list)
    toe_off_s: list[float] = field(default_factory=list)


@dataclass
class Events:
    left: SideEvents = field(default_factory=SideEvents)
    right: SideEvents = field(default_factory=SideEvents)
    n_steps: int = 0  # validated steps (contact to the other foot's contact)
    n_rejected: int = 0  # candidate events dropped by the checks
    method: str = ""
    # The detector's left/right phase bias (s, left contacts found late by this much against
    # the pelvis's own rhythm), measured on the clip and removed from the events above; its
    # spread is how well the clip pins it down.
    left_right_bias_s: float | None = None
    left_right_bias_spread_s: float | None = None

    def side(self, side: Side) -> SideEvents:
        return self.left if side == "left" else self.right

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Events:
        def side(x: dict[str, Any] | None) -> SideEvents:
            x = x or {}
            return SideEvents(
                [float(v) for v in x.get("initial_contact_s", [])],
                [float(v) for v in x.get("toe_off_s", [])],
            )

        return cls(
            left=side(d.get("left")),
            right=side(d.get("right")),
            n_steps=int(d.get("n_steps", 0)),
            n_rejected=int(d.get("n_rejected", 0)),
            method=d.get("method", ""),
            left_right_bias_s=d.get("left_right_bias_s"),
            left_right_bias_spread_s=d.get("left_right_bias_spread_s"),
        )


@dataclass
class Report:
    view: View
    view_detail: ViewInfo
    clip_quality: ClipQuality
    events: Events
    metrics: dict[str, Metric]
    faults: list[Fault]
    chain: list[ChainLink]
    athlete: AthleteInfo | None = None
    schema_version: int = SCHEMA_VERSION
    summary: list[str] = field(default_factory=list)  # plain-language lines for people

    def to_dict(self) -> dict[str, Any]:
        # Every float rounded to 6 decimals, non-finite ones null (backend.jsonsafe).
        d = cast(dict[str, Any], json_safe(self, digits=6))
        # Schema first, for people reading the file.
        return {"schema_version": d.pop("schema_version"), **d}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Report:
        version = int(d.get("schema_version", 0))
        if version != SCHEMA_VERSION:
            raise ValueError(f"report schema_version {version} is not {SCHEMA_VERSION}")
        athlete = d.get("athlete")
        return cls(
            view=d["view"],
            view_detail=ViewInfo.from_dict(d["view_detail"]),
            clip_quality=ClipQuality.from_dict(d["clip_quality"]),
            events=Events.from_dict(d["events"]),
            metrics={k: Metric.from_dict(v) for k, v in d["metrics"].items()},
            faults=[Fault.from_dict(f) for f in d["faults"]],
            chain=[ChainLink.from_dict(c) for c in d["chain"]],
            athlete=AthleteInfo(**athlete) if athlete else None,
            schema_version=version,
            summary=list(d.get("summary", [])),
        )
