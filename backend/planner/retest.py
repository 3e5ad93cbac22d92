"""The re-test loop: each fault a block targeted, measured before the block and after it.

"Before" is the diagnosis the block was generated from (``Plan.baseline``); "after" is the
athlete's diagnosis once a clip recorded on or after the block's first day took part. A
change counts only when it is larger than the smallest change the measurement can detect
(``gait.report_reader.SMALLEST_DETECTABLE_CHANGE``): a smaller one is "no detectable change",
never progress.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backend.gait.catalogue import SEVERITIES
from backend.gait.report_reader import LOWER_IS_WORSE, SMALLEST_DETECTABLE_CHANGE
from backend.planner.generate import FAULT_RULES, rank_faults
from backend.planner.types import AnalysisSummary, FaultFinding, Plan, _Json

# Outcomes, worst news last.
SHRANK = "shrank"
GONE = "gone"
NO_DETECTABLE_CHANGE = "no_detectable_change"
GREW = "grew"
NOT_REFILMED = "not_refilmed"  # no clip of that view since the block started


@dataclass(frozen=True)
class FaultComparison(_Json):
    code: str
    label: str
    metric: str | None
    side: str | None
    before_value: float | None
    before_severity: str
    after_value: float | None
    after_severity: str | None  # None: below the fault's threshold now (or not re-filmed)
    change: float | None  # after minus before, in the metric's unit
    smallest_detectable_change: float | None
    outcome: str
    summary: str


def after_analysis(plan: Plan) -> AnalysisSummary | None:
    """The diagnosis that re-tests the block: the plan's current one, once a clip recorded
    on or after the block's first day took part in it."""
    after = plan.analysis
    if after is None or plan.baseline is None or after.recorded_at < plan.block_start or (
            after.same_findings(plan.baseline)):
        return None
    return after


def _after_value(after: AnalysisSummary, before: FaultFinding) -> float | None:
    measure = after.measure(before.metric)
    if measure is None:
        return None
    if before.side == "left" and measure.left is not None:
        return measure.left
    if before.side == "right" and measure.right is not None:
        return measure.right
    return measure.value


def _refilmed(after: AnalysisSummary, before: FaultFinding) -> bool:
    return after.measure(before.metric) is not None or any(
        f.code == before.code for f in after.faults)


def compare_fault(before: FaultFinding, after: AnalysisSummary | None) -> FaultComparison:
    label = FAULT_RULES[before.code].label
    sdc = SMALLEST_DETECTABLE_CHANGE.get(before.metric or "")
    base: dict[str, Any] = dict(
        code=before.code, label=label, metric=before.metric, side=before.side,
        before_value=before.value, before_severity=before.severity,
        smallest_detectable_change=sdc)
    if after is None or not _refilmed(after, before):
        return FaultComparison(**base, after_value=None, after_severity=None, change=None,
                               outcome=NOT_REFILMED,
                               summary=f"{label}: not filmed again from that view yet.")
    now = [f for f in after.faults if f.code == before.code]
    same_side = [f for f in now if f.side == before.side] or now
    fault_now = max(same_side, key=lambda f: SEVERITIES.index(f.severity), default=None)
    value = fault_now.value if fault_now is not None and fault_now.value is not None \
        else _after_value(after, before)
    change = None if value is None or before.value is None else round(value - before.value, 3)
    worse_sign = -1.0 if before.metric in LOWER_IS_WORSE else 1.0
    severity_now = fault_now.severity if fault_now is not None else None
    sev_index = SEVERITIES.index
    if change is not None and sdc is not None and abs(change) > sdc:
        outcome = GREW if change * worse_sign > 0 else (GONE if fault_now is None else SHRANK)
    elif change is None and fault_now is None:
        outcome = GONE
    elif change is None and severity_now is not None and \
            sev_index(severity_now) != sev_index(before.severity):
        outcome = GREW if sev_index(severity_now) > sev_index(before.severity) else SHRANK
    else:
        outcome = NO_DETECTABLE_CHANGE
    where = f" ({before.side})" if before.side else ""
    if change is not None and before.value is not None and value is not None:
        figures = f"{before.value:g} -> {value:g}"
        limit = f", more than the {sdc:g} the measurement can detect" if sdc else ""
        words = {SHRANK: f"shrank, {figures}{limit}",
                 GONE: f"gone below its threshold, {figures}{limit}",
                 GREW: f"grew, {figures}{limit}",
                 NO_DETECTABLE_CHANGE: f"no change the measurement can detect ({figures}, "
                 f"within {sdc:g})" if sdc else f"no detectable change ({figures})"}
    else:
        words = {SHRANK: f"less severe ({before.severity} -> {severity_now})",
                 GONE: "no longer found", GREW: f"more severe ({before.severity} -> "
                 f"{severity_now})", NO_DETECTABLE_CHANGE: "no detectable change"}
    return FaultComparison(**base, after_value=value, after_severity=severity_now,
                           change=change, outcome=outcome,
                           summary=f"{label}{where}: {words[outcome]}.")


def compare_block(plan: Plan) -> tuple[FaultComparison, ...]:
    """Each fault the block targeted (the baseline's faults that steered it), before and
    after; empty when the block was not generated from an analysis."""
    if plan.baseline is None:
        return ()
    after = after_analysis(plan)
    targeted = {r.code for r in rank_faults(plan.baseline)}
    seen: set[str] = set()
    out = []
    for f in plan.baseline.faults:
        if f.code in targeted and f.code not in seen:
            best = max((g for g in plan.baseline.faults if g.code == f.code),
                       key=lambda g: (SEVERITIES.index(g.severity), g.confidence))
            seen.add(f.code)
            out.append(compare_fault(best, after))
    return tuple(out)


def retest_summary(comparisons: tuple[FaultComparison, ...]) -> str:
    """One sentence for a next block's reason."""
    return " ".join(c.summary for c in comparisons if c.outcome != NOT_REFILMED)
