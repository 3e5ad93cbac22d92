"""Fault rules and the chain reading.

Each rule reads one metric's summary against its bands in ``thresholds`` (every number there
names its source), and fires with a severity, a side where it has one, a confidence and the
per-stride evidence. Each fault's words (title, why it matters, cues) come from the fault
catalogue (``catalogue.py``), which the planner reads too.

Confidence = consistency (the fraction of the side's strides past the threshold) x a
visibility factor (mean visibility of the landmarks used) x a stride-count factor (full at
Dingenen's 7 strides a side), capped for measures that RF calls weak.
"""

from __future__ import annotations

import math

import numpy as np

from backend.gait import thresholds as th
from backend.gait.catalogue import fault as catalogue_entry
from backend.gait.types import ChainLink, Evidence, Fault, Metric, Side


def _count_factor(n: int) -> float:
    return min(1.0, th.COUNT_FACTOR_FLOOR
               + (1.0 - th.COUNT_FACTOR_FLOOR) * n / th.GOOD_STRIDES_PER_SIDE)


def _vis_factor(m: Metric) -> float:
    if m.visibility is None:
        return 1.0
    span = th.VIS_FACTOR_FULL - th.VISIBILITY_MIN
    return float(np.clip((m.visibility - th.VISIBILITY_MIN) / span, th.VIS_FACTOR_FLOOR, 1))


def _values(m: Metric, side: str | None) -> tuple[list[float], list[float], list[str | None]]:
    rows = [s for s in m.per_stride if side is None or s.side == side]
    return [s.value for s in rows], [s.t_s for s in rows], [s.side for s in rows]


def _fault(code: str, m: Metric, side: str | None, value: float, severity: str, threshold: float,
           past: float, cap: float = 1.0, supporting: dict[str, float | None] | None = None,
           notes: list[str] | None = None) -> Fault:
    vals, times, sides = _values(m, side)
    n = len(vals)
    confidence = past * _vis_factor(m) * _count_factor(n)
    key_t = None
    if vals:
        i = int(np.argmin(np.abs(np.asarray(vals) - value)))
        key_t = times[i]
    entry = catalogue_entry(code)
    return Fault(
        code=code, title=entry.title, severity=severity, side=side,  # type: ignore[arg-type]
        confidence=round(min(cap, confidence), 3), value=value, threshold=threshold,
        unit=m.unit,
        evidence=Evidence(metric=m.key, values=vals, frame_times_s=times,
                          sides=sides, key_frame_s=key_t,  # type: ignore[arg-type]
                          supporting=supporting or {}),
        why_it_matters=entry.explanation, cues=entry.cues_for(side), notes=list(notes or []),
    )


def _past(m: Metric, side: str | None, bands: th.Bands) -> float:
    vals, _, _ = _values(m, side)
    if not vals:
        return 0.0
    return float(np.mean([bands.fires(v) for v in vals]))


def _banded(code: str, m: Metric | None, bands: th.Bands, per_side: bool, cap: float = 1.0,
            notes: list[str] | None = None) -> list[Fault]:
    if m is None or m.value is None:
        return []
    out = []
    sides: list[str | None] = ["left", "right"] if per_side else [None]
    for side in sides:
        value = m.side_value(side)  # type: ignore[arg-type]
        if value is None:
            continue
        sev = bands.severity(value)
        if sev is None:
            continue
        out.append(_fault(code, m, side, value, sev, bands.mild, _past(m, side, bands), cap,
                          notes=notes))
    return out


def _escalate(sev: str) -> str:
    return {"mild": "moderate", "moderate": "marked", "marked": "marked"}[sev]


def rules(metrics: dict[str, Metric], fps: float | None = None,
          timing_bias_s: float | None = None) -> list[Fault]:
    """The faults the metrics show; ``fps`` (the clip's measured frame rate) sets the
    contact-time asymmetry's floor of two frames, and ``timing_bias_s`` (the event
    detector's left/right phase bias measured on the clip) raises it further."""
    g = metrics.get
    faults: list[Fault] = []
    faults += _banded("hip_drop", g("pelvic_drop_deg"), th.PELVIC_DROP, per_side=True)

    sw = g("step_width_norm")
    if sw is not None and sw.value is not None:
        sev = th.STEP_WIDTH.severity(sw.value)
        vals = [v.value for v in sw.per_stride]
        crossing = float(np.mean([v <= 0 for v in vals])) if vals else 0.0
        # RF: crossover "when at or below 0 in most steps": moderate and above need it.
        if sev in ("moderate", "marked") and crossing <= th.CROSSOVER_MOST_STEPS_FRACTION:
            sev = "mild"
        if sev is not None:
            faults.append(_fault("crossover_gait", sw, None, sw.value, sev, th.STEP_WIDTH.mild,
                                 _past(sw, None, th.STEP_WIDTH),
                                 supporting={"fraction_of_steps_crossing": crossing}))
    crossover = any(f.code == "crossover_gait" for f in faults)

    ac = g("arm_crossover_norm")
    for f in _banded("arm_crossover", ac, th.ARM_CROSSOVER, per_side=True,
                     cap=th.ARM_CROSSOVER_CONFIDENCE_CAP):
        if not crossover and f.severity != "mild":
            # RF: thin evidence, mild unless it comes with a crossover gait.
            f.notes.append(f"measured {f.severity}, reported mild: no crossover gait with it")
            f.severity = "mild"
        faults.append(f)

    er = g("recovery_external_rotation_deg")
    for f in _banded("recovery_external_rotation", er, th.RECOVERY_EXTERNAL_ROTATION,
                     per_side=True, cap=th.RECOVERY_ER_CONFIDENCE_CAP):
        consistent = er is not None and _past(er, f.side, th.RECOVERY_EXTERNAL_ROTATION)
        if consistent and consistent >= th.RECOVERY_ER_CONSISTENT_FRACTION:
            faults.append(f)

    faults += _banded("knee_collapse", g("knee_fppa_deg"), th.KNEE_FPPA, per_side=True,
                      cap=th.KNEE_FPPA_CONFIDENCE_CAP,
                      notes=["2D knee angle: knee moving inward, mostly hip-driven; it does not "
                             "measure 3D knee valgus."])

    fa, sh = g("foot_ahead_of_hip_norm"), g("shank_angle_ic_deg")
    for side in ("left", "right"):
        fv = fa.side_value(side) if fa is not None else None
        sv = sh.side_value(side) if sh is not None else None
        sev = th.FOOT_AHEAD_OF_HIP.severity(fv) if fv is not None else None
        shank_sign = sv is not None and sv >= th.SHANK_ANGLE_OVERSTRIDE_DEG
        if sev is not None and fa is not None:
            if shank_sign:
                sev = _escalate(sev)
            faults.append(_fault("overstride", fa, side, float(fv), sev,  # type: ignore[arg-type]
                                 th.FOOT_AHEAD_OF_HIP.mild,
                                 _past(fa, side, th.FOOT_AHEAD_OF_HIP),
                                 supporting={"shank_angle_ic_deg": sv}))
        elif shank_sign and sh is not None:
            bands = th.Bands(th.SHANK_ANGLE_OVERSTRIDE_DEG, 1e9, 1e9)
            faults.append(_fault("overstride", sh, side, float(sv), "mild",  # type: ignore[arg-type]
                                 th.SHANK_ANGLE_OVERSTRIDE_DEG, _past(sh, side, bands),
                                 supporting={"foot_ahead_of_hip_norm": fv}))

    cad = g("cadence_spm")
    if cad is not None and cad.value is not None and (
            th.CADENCE.mild - cad.value) > th.REPEATABILITY_Z * standard_error(
                [v.value for v in cad.per_stride]):
        faults += _banded("low_cadence", cad, th.CADENCE, per_side=False)

    faults += _banded("trunk_lean", g("trunk_forward_lean_deg"), th.TRUNK_FORWARD_LEAN,
                      per_side=False, notes=["forward lean"])
    faults += _banded("trunk_lean", g("trunk_lateral_lean_deg"), th.TRUNK_LATERAL_LEAN,
                      per_side=True, notes=["lateral lean toward the stance side"])

    faults += asymmetry(metrics, fps, timing_bias_s)
    return faults


def robust_sd(values: list[float]) -> float:
    """The standard deviation from the median absolute deviation (a stray stride does not
    inflate it)."""
    if len(values) < 2:
        return math.inf
    v = np.asarray(values, dtype=np.float64)
    return th.MAD_TO_SD * float(np.median(np.abs(v - np.median(v))))


def standard_error(values: list[float]) -> float:
    """How well the clip's own strides pin their median down (robust SD / sqrt(n))."""
    return robust_sd(values) / math.sqrt(len(values)) if len(values) >= 2 else math.inf


def asymmetry_standard_error(m: Metric) -> float:
    """Standard error of the left minus right difference, from the clip's own strides."""
    lv = [s.value for s in m.per_stride if s.side == "left"]
    rv = [s.value for s in m.per_stride if s.side == "right"]
    return math.hypot(standard_error(lv), standard_error(rv))


def _repeatable(m: Metric, diff: float) -> bool:
    """The difference is larger than the clip's own stride-to-stride spread can make it."""
    return abs(diff) > th.REPEATABILITY_Z * asymmetry_standard_error(m)


def _asymmetry_severity(ratio: float) -> str:
    if ratio >= th.ASYMMETRY_MARKED_RATIO:
        return "marked"
    return "moderate" if ratio >= th.ASYMMETRY_MODERATE_RATIO else "mild"


def asymmetry(metrics: dict[str, Metric], fps: float | None = None,
              timing_bias_s: float | None = None) -> list[Fault]:
    """The largest left/right difference past its limit. ``fps`` is the clip's frame rate:
    the contact-time limit is at least CONTACT_ASYMMETRY_MIN_FRAMES frames at that rate, and
    at least twice the detector's measured left/right phase bias (a contact found late on one
    side and its toe-off early shortens that side's contact by up to twice the bias)."""
    best: tuple[float, Fault] | None = None
    for key, sdd in th.ASYMMETRY_SDD.items():
        src = "trunk_lateral_lean_deg" if key == "trunk_lean_deg" else key
        m = metrics.get(src)
        if m is None or m.left is None or m.right is None:
            continue
        diff = m.left - m.right
        ratio = abs(diff) / sdd
        if ratio < 1.0 or not _repeatable(m, diff):
            continue
        sev = _asymmetry_severity(ratio)
        # The weaker side: the one with more drop, adduction, inward knee or lean.
        side = "left" if diff > 0 else "right"
        bands = th.Bands(sdd, th.ASYMMETRY_MODERATE_RATIO * sdd, th.ASYMMETRY_MARKED_RATIO * sdd)
        # Consistency: how separated the two sides' strides are.
        lv = [s.value for s in m.per_stride if s.side == "left"]
        rv = [s.value for s in m.per_stride if s.side == "right"]
        sep = float(np.mean([(a > np.median(rv)) == (diff > 0) for a in lv])) if lv and rv else 0
        f = _fault("asymmetry", m, side, abs(diff), sev, bands.mild, sep,
                   supporting={"left": m.left, "right": m.right, "sdd": sdd},
                   notes=[f"{m.key}: left {m.left:.1f}, right {m.right:.1f} {m.unit}"])
        if best is None or ratio > best[0]:
            best = (ratio, f)
    ct = metrics.get("ground_contact_ms")
    if ct is not None and ct.left is not None and ct.right is not None and ct.value:
        diff = ct.left - ct.right
        # Without the frame rate, assume the least that contact times are measured at.
        rate = fps if fps and fps > 0 else th.FPS_MIN_CONTACT_TIME
        limit = max(th.CONTACT_ASYMMETRY_MIN_FRACTION * ct.value,
                    th.CONTACT_ASYMMETRY_MIN_FRAMES * 1000.0 / rate,
                    th.STEPS_PER_STRIDE * 1000.0 * abs(timing_bias_s or 0.0))
        ratio = abs(diff) / limit
        if ratio >= 1.0 and _repeatable(ct, diff) and (best is None or ratio > best[0]):
            # Shorter contact is the side the runner gets off quickly: the weaker side.
            side = "left" if diff < 0 else "right"
            sev = _asymmetry_severity(ratio)
            best = (ratio, _fault("asymmetry", ct, side, abs(diff), sev, limit, 1.0,
                                  supporting={"left": ct.left, "right": ct.right},
                                  notes=[f"contact time: left {ct.left:.0f}, right "
                                         f"{ct.right:.0f} ms"]))
    return [best[1]] if best else []


def chain(faults: list[Fault], metrics: dict[str, Metric]) -> list[ChainLink]:
    """The "look beyond the hip" reading (RF "Faults that go together", product table)."""
    by: dict[str, list[Fault]] = {}
    for f in faults:
        by.setdefault(f.code, []).append(f)

    def conf(*codes: str) -> float:
        vals = [max(x.confidence for x in by[c]) for c in codes if c in by]
        return float(np.mean(vals)) if vals else 0.0

    def side_of(code: str) -> Side | None:
        fs = by.get(code, [])
        sides = {f.side for f in fs}
        return fs[0].side if len(sides) == 1 else None

    out: list[ChainLink] = []
    hip = "hip_drop" in by
    foot_signs: list[str] = [c for c in ("knee_collapse", "recovery_external_rotation") if c in by]
    if hip and foot_signs:
        out.append(ChainLink(
            "foot_ankle", conf("hip_drop", *foot_signs),
            "The hip drops and the "
            + " and the ".join("knee moves inward" if c == "knee_collapse" else
                               "leg turns out in the recovery" for c in foot_signs)
            + ": look down the chain first (foot, ankle, calf). Build the foot and ankle with "
            "the power raise before heavy hip work.",
            faults=["hip_drop", *foot_signs], side=side_of("hip_drop"),
            emphasis=["power_raise", "single_leg_deadlift"]))
    elif foot_signs:
        out.append(ChainLink(
            "foot_ankle", th.CHAIN_FOOT_WITHOUT_HIP * conf(*foot_signs),
            "The knee or lower leg turns in or out without a hip drop: the foot and ankle are "
            "the likely start; the power raise with external-rotation pressure.",
            faults=foot_signs, emphasis=["power_raise"]))
    if hip and not foot_signs:
        out.append(ChainLink(
            "activation", conf("hip_drop"),
            "The hip drops while the knee and foot stay in line: a matter of hip activation "
            "and control more than strength. Hip airplane and single-leg deadlift with the "
            "power-raise principles.",
            faults=["hip_drop"], side=side_of("hip_drop"),
            emphasis=["hip_airplane", "single_leg_deadlift"]))
    lateral = [f for f in by.get("trunk_lean", []) if f.evidence.metric == "trunk_lateral_lean_deg"]
    pd = metrics.get("pelvic_drop_deg")
    if lateral and pd is not None and pd.value is not None and pd.value < th.LITTLE_PELVIC_DROP_DEG:
        out.append(ChainLink(
            "activation", th.CHAIN_LEAN_HIDES_HIP * max(f.confidence for f in lateral),
            f"The trunk leans toward the stance side while the pelvis drops little "
            f"({pd.value:.1f} degrees): the lean may be hiding a hip weakness; read the two "
            "together.", faults=["trunk_lean"], side=lateral[0].side,
            emphasis=["hip_airplane"]))
    if "crossover_gait" in by and "arm_crossover" in by:
        out.append(ChainLink(
            "posterior_oblique_sling", conf("crossover_gait", "arm_crossover"),
            "The feet cross toward the midline and the arms swing across the body: the "
            "posterior oblique sling links the opposite shoulder and hip. Arm-swing cues and "
            "single-leg deadlifts with the load in the opposite hand.",
            faults=["crossover_gait", "arm_crossover"],
            emphasis=["single_leg_deadlift"]))
    elif "crossover_gait" in by:
        out.append(ChainLink(
            "posterior_oblique_sling", th.CHAIN_FEET_WITHOUT_ARMS * conf("crossover_gait"),
            "The feet land on or across the midline; the arms did not show it, but the "
            "opposite arm and shoulder are worth a look.",
            faults=["crossover_gait"], emphasis=["hip_airplane", "single_leg_deadlift"]))
    elif "arm_crossover" in by:
        out.append(ChainLink(
            "posterior_oblique_sling", th.CHAIN_ARMS_WITHOUT_FEET * conf("arm_crossover"),
            "The arms swing across the body while the feet stay apart: a shoulder and "
            "trunk-rotation matter more than a hip one; the evidence for it is thin.",
            faults=["arm_crossover"], emphasis=["single_leg_deadlift"]))
    stride: list[str] = [c for c in ("overstride", "low_cadence") if c in by]
    if stride:
        both = len(stride) == 2
        out.append(ChainLink(
            "stride_rate", conf(*stride) * (1.0 if both else th.CHAIN_STRIDE_ONE_SIGN),
            ("Overstriding with a low cadence: " if both else
             "Overstriding: " if stride == ["overstride"] else "A low cadence: ")
            + "raise the stride rate first (+5 % steps per minute, quicker arms) and stiffen "
            "the ankle with the power raise.",
            faults=stride, emphasis=["power_raise", "cadence_drill"]))
    forward = [f for f in by.get("trunk_lean", []) if f.evidence.metric != "trunk_lateral_lean_deg"]
    if forward:
        out.append(ChainLink(
            "posture", max(f.confidence for f in forward),
            "The trunk leans forward more than usual: posture (proud chest, lean from the "
            "ankles) and the hinge of the single-leg deadlift.",
            faults=["trunk_lean"], emphasis=["single_leg_deadlift"]))
    for c in out:
        c.confidence = round(c.confidence if math.isfinite(c.confidence) else 0.0, 3)
    return out
