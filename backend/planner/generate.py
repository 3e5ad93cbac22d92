"""Plan generation: from the athlete profile and the latest analysis to a versioned block.

Three steps, all pure:

1. Read the faults (``rank_faults``) and the chain (``read_emphasis``) into an emphasis:
   which exercises lead, which drills join, which cues, which side gets an extra set.
2. Lay out the calendar: 4-8 weeks, 2-3 sessions a week on the athlete's days, every
   fourth week lighter, the last week with the prompt to film again.
3. Walk the sessions in order carrying each exercise's progression state (``replan``): at
   each loading-week boundary every exercise tries its next rule, and a step is taken only
   while the week stays within the volume cap and every session within 25 minutes.

``replan`` is shared with the adaptation functions, so a generated plan and an adapted one
obey the same rules.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from itertools import combinations, pairwise

from backend.gait.catalogue import FAULTS, FaultEntry, cue_text
from backend.planner.exercises import CORE_EXERCISES, DRILLS, START_LEVEL, get_exercise
from backend.planner.progression import (
    DELOAD_EVERY,
    NO_LOAD_EXTRA_SLOW_S,
    SESSION_MAX_MINUTES,
    WARM_UP_MIN_S,
    WEEKLY_VOLUME_CAP,
    candidate_steps,
    deload_dose,
    level_start_state,
    lighten_sets,
    prescription_volume,
    session_minutes,
    warm_up_seconds,
    work_seconds,
)
from backend.planner.types import (
    FAULT_CODES,
    SET_BY_ADAPTATION,
    AnalysisSummary,
    ChainFinding,
    CoachFlag,
    Cue,
    EmphasisItem,
    ExercisePrescription,
    Plan,
    PlannerProfile,
    Session,
    SessionLayout,
    SideExtra,
    Substitution,
    TrackState,
    VersionNote,
    Week,
)

# --------------------------------------------------------------------------- the fault table

SEVERITY_WEIGHT: dict[str, float] = {"mild": 1.0, "moderate": 2.0, "marked": 3.0}
MIN_CONFIDENCE = 0.3  # below this a finding is reported but does not steer the plan
CHAIN_LINK_MIN_CONFIDENCE = 0.5  # a report chain link this sure can trigger a chain reading
HIGH_RUNNING_KM = 60.0  # above this weekly volume every exercise starts at two sets


@dataclass(frozen=True)
class FaultRule:
    """One row of the fault-to-emphasis table: the fault's catalogue entry (its label, cues
    and the exercises it points to, owned by gait) and how far it steers the plan.

    ``weight`` is how far a finding of this kind should steer the plan: the strength of the
    evidence that it matters for injury, times how well 2D video measures it.
    """

    entry: FaultEntry
    weight: float

    @property
    def label(self) -> str:
        return self.entry.label

    @property
    def exercises(self) -> tuple[str, ...]:  # first one leads for this fault
        return self.entry.exercises

    @property
    def drills(self) -> tuple[str, ...]:
        return self.entry.drills

    @property
    def cues(self) -> tuple[str, ...]:
        return self.entry.cues

    @property
    def opposite_hand(self) -> bool:
        return self.entry.opposite_hand


FAULT_WEIGHTS: dict[str, float] = {
    # Prospective and case-control evidence (Bramah 2018: each degree raised the odds of
    # injury by about 80 %); measurable from behind with a detectable change of ~2.8 deg.
    "hip_drop": 1.0,
    # Narrow steps raise hip adduction and ITB strain (Brindle 2014, Meardon 2012).
    "crossover_gait": 0.9,
    # A cadence rise of 5-10 % lowers hip and knee load (Heiderscheit 2011) and pelvic drop
    # (Bramah 2019), so stride rate is worth almost as much as hip drop itself.
    "overstride": 0.8,
    "low_cadence": 0.8,
    # 2D knee valgus does not track 3D knee motion (Dingenen): weighed lower, and read
    # mostly as a foot, ankle and hip sign rather than a knee problem.
    "knee_collapse": 0.7,
    # Forward lean went with injury at mid-stance (Bramah 2018) but has no hard norm.
    "trunk_lean": 0.7,
    # Side-specific work; a difference below the detectable change is noise upstream.
    "asymmetry": 0.6,
    # Heel whip is an out-of-plane 2D proxy of rotation: low weight.
    "recovery_external_rotation": 0.5,
    # Arms counter trunk rotation (Pontzer 2009, Arellano and Kram 2014): thin evidence
    # on its own, so it is capped at mild unless crossover gait comes with it.
    "arm_crossover": 0.5,
}

FAULT_RULES: dict[str, FaultRule] = {
    code: FaultRule(entry, FAULT_WEIGHTS[code]) for code, entry in FAULTS.items()
}

GENERAL_CUES: tuple[str, ...] = (
    "Run tall, quick light steps",
    "Land under your hips",
    "Relaxed shoulders, elbows drive straight back",
)

FOUNDATION_REASON: dict[str, str] = {
    "power_raise": "Part of every block: the foot, ankle and calf that let the hip do its work.",
    "single_leg_deadlift": "Part of every block: single-leg hinge strength and pelvic control.",
    "hip_airplane": "Part of every block: control of the pelvis turning over the stance hip.",
}

FILM_AGAIN = (
    "Film again this week: one clip from behind at hip height (3-4 m back, whole body in "
    "frame) and one from the side, 10-20 s of steady running, 60 fps if your phone offers "
    "it. The new report shows before and after, fault by fault, and shapes the next block."
)
FILM_FIRST = (
    "Film your first clip this week (from behind at hip height and from the side, 10-20 s "
    "of steady running) so the plan can target your running form."
)
WARM_UP = (
    "Easy movement prep: ankle rocks, leg swings front-to-back and side-to-side, "
    "10 glute bridges, 20 s of easy skipping."
)
WARM_UP_LONG = " Repeat the circuit slowly until the time is up: today's strength work is short."


@dataclass(frozen=True)
class RankedFault:
    code: str
    severity: str  # after the arm-crossover cap
    side: str | None
    confidence: float
    score: float

    @property
    def label(self) -> str:
        bits = [self.severity] + ([self.side] if self.side else [])
        return f"{FAULT_RULES[self.code].label} ({', '.join(bits)})"


@dataclass(frozen=True)
class EmphasisReading:
    items: tuple[EmphasisItem, ...]
    chain_notes: tuple[str, ...]
    core_order: tuple[str, ...]
    drills: tuple[str, ...]
    opposite_hand: bool
    weaker_side: str | None
    ranked: tuple[RankedFault, ...]


def rank_faults(analysis: AnalysisSummary | None) -> tuple[RankedFault, ...]:
    """Faults that steer the plan, highest priority first.

    Priority = severity (1-3) x confidence x the table's weight; a fault reported for both
    sides counts once, on the worse side (no side when both are equal).
    """
    if analysis is None:
        return ()
    acted = [f for f in analysis.faults if f.confidence >= MIN_CONFIDENCE]
    present = {f.code for f in acted}
    best: dict[str, RankedFault] = {}
    for f in acted:
        severity = f.severity
        if f.code == "arm_crossover" and "crossover_gait" not in present:
            severity = "mild"
        score = SEVERITY_WEIGHT[severity] * f.confidence * FAULT_RULES[f.code].weight
        ranked = RankedFault(f.code, severity, f.side, f.confidence, score)
        prev = best.get(f.code)
        if prev is None or score > prev.score:
            best[f.code] = ranked
        elif score == prev.score and prev.side != f.side:
            best[f.code] = replace(prev, side=None)
    return tuple(sorted(best.values(), key=lambda r: (-r.score, FAULT_CODES.index(r.code))))


def _all_codes_order(code: str) -> int:
    return (CORE_EXERCISES + DRILLS).index(code)


# --------------------------------------------------------------------------- the chain rules


@dataclass(frozen=True)
class Boost:
    """Raise ``exercise``'s score by ``factor`` x the score of ``fault`` (when it is acted
    on), and count the exercise as addressing that fault."""

    exercise: str
    fault: str
    factor: float


@dataclass(frozen=True)
class ChainRule:
    """One "look beyond the hip" reading of the fault pattern, as data.

    It fires when every fault of ``needs`` is acted on, none of ``sided`` lacks a side, each
    of ``at_most_mild`` is absent or mild, and enough of its ``signs`` are acted on:
    ``signs_alone`` of them, or ``signs_with_link`` when the report's chain reading names
    ``link`` with a confidence of at least CHAIN_LINK_MIN_CONFIDENCE. Firing, it applies its
    ``boosts`` in order, puts ``lead`` first for the faults behind it, adds ``note`` (its
    ``{signs}`` are the labels of the signs present, or ``no_signs``) and the ``why`` reasons
    to the exercises' emphasis. Not firing while every fault of ``otherwise_needs`` is acted
    on, it adds ``otherwise_note``. ``rationale`` and ``source`` say why the rule holds.
    """

    name: str
    rationale: str
    source: str
    needs: tuple[str, ...] = ()
    signs: tuple[str, ...] = ()
    signs_alone: int = 0
    signs_with_link: int = 0
    link: str | None = None
    sided: tuple[str, ...] = ()
    at_most_mild: tuple[str, ...] = ()
    boosts: tuple[Boost, ...] = ()
    lead: str | None = None
    note: str = ""
    no_signs: str = ""
    why: tuple[tuple[str, str], ...] = ()
    otherwise_needs: tuple[str, ...] = ()
    otherwise_note: str = ""


CHAIN_RULES: tuple[ChainRule, ...] = (
    ChainRule(
        name="foot_ankle_first",
        rationale="Hip drop with the knee moving inward or the leg turning out reads as a foot "
        "and ankle problem first, so the power raise leads.",
        source="running-form.md (look beyond the hip); product table: contralateral hip drop",
        needs=("hip_drop",),
        signs=("knee_collapse", "recovery_external_rotation"),
        signs_alone=1,
        link="foot_ankle",
        boosts=(Boost("power_raise", "hip_drop", 1.0),),
        lead="power_raise",
        note="Look beyond the hip: hip drop comes with {signs}, so the foot and ankle come "
        "first: power raise before heavy hip work.",
        no_signs="a foot and ankle link",
        why=(("power_raise", "look beyond the hip: foot and ankle first"),),
        otherwise_needs=("hip_drop",),
        otherwise_note="Hip drop without foot or ankle signs: activation and control, so the "
        "hip airplane and single-leg deadlift carry the work, with power-raise principles.",
    ),
    ChainRule(
        name="posterior_oblique_sling",
        rationale="Crossover gait with the arms across the midline: the posterior oblique "
        "sling links the opposite shoulder and hip, so the deadlift is loaded in the opposite "
        "hand and the arm swing is trained.",
        source="product table: crossover gait, arms cross the midline (Pontzer 2009, "
        "Arellano and Kram 2014 on arm swing)",
        needs=("crossover_gait",),
        signs=("arm_crossover",),
        signs_alone=1,
        link="posterior_oblique_sling",
        boosts=(
            Boost("single_leg_deadlift", "crossover_gait", 1.0),
            Boost("arm_swing_drill", "crossover_gait", 0.5),
            Boost("arm_swing_drill", "arm_crossover", 0.0),
        ),
        lead="single_leg_deadlift",
        note="Crossover gait with the arms crossing the midline: the posterior oblique sling "
        "links the opposite shoulder and hip, so the single-leg deadlift is loaded in "
        "the opposite hand and an arm-swing drill joins the sessions.",
        why=(
            ("single_leg_deadlift", "posterior oblique sling: load in the opposite hand"),
            ("arm_swing_drill", "posterior oblique sling: arms drive straight back"),
        ),
        otherwise_needs=("arm_crossover",),
        otherwise_note="Arms crossing the midline on their own are kept mild: the evidence "
        "that they matter without crossover gait is thin, so a drill and a cue, no more.",
    ),
    ChainRule(
        name="stride_rate_first",
        rationale="Overstride with low cadence: stride rate first, and a stiffer ankle from "
        "the power raise.",
        source="Heiderscheit 2011 (a 5-10 % cadence rise lowers hip and knee load); product "
        "table: overstride, low cadence",
        signs=("overstride", "low_cadence"),
        signs_alone=2,
        signs_with_link=1,
        link="stride_rate",
        boosts=(Boost("cadence_drill", "overstride", 0.0),
                Boost("cadence_drill", "low_cadence", 0.0)),
        lead="cadence_drill",
        note="Overstride with low cadence: stride rate first (+5 % steps per minute, quicker "
        "arms) and a stiffer ankle from the power raise.",
        why=(("cadence_drill", "stride rate first"),),
    ),
    ChainRule(
        name="cadence_helps_the_hip",
        rationale="Raising the cadence also lowers pelvic drop.",
        source="Bramah 2019 (a 10 % cadence rise cut pelvic drop by about 3 degrees)",
        needs=("hip_drop", "low_cadence"),
        note="A 10 % cadence rise cut pelvic drop by about 3 degrees (Bramah 2019): the "
        "cadence work helps the hip too.",
    ),
    ChainRule(
        name="lean_hides_the_hip",
        rationale="A lean toward the stance side with little pelvic drop can hide a hip "
        "weakness.",
        source="Bramah 2018; running-form.md (faults that go together)",
        needs=("trunk_lean",),
        sided=("trunk_lean",),
        at_most_mild=("hip_drop",),
        boosts=(Boost("hip_airplane", "trunk_lean", 0.8),),
        note="Trunk lean to the side with little pelvic drop: the trunk may be hiding a hip "
        "weakness, so the hip airplane joins the emphasis.",
        why=(("hip_airplane", "the trunk lean may hide a hip weakness"),),
    ),
    ChainRule(
        name="knee_from_2d",
        rationale="2D knee valgus does not track 3D knee motion: a foot, ankle and hip sign.",
        source="Dingenen (2D against 3D knee angles)",
        needs=("knee_collapse",),
        note="The knee moving inward is read from 2D video, which tracks 3D knee motion "
        "poorly: it is treated as a foot, ankle and hip sign and weighs less.",
    ),
)


def chain_rule_fires(
    rule: ChainRule, present: Mapping[str, RankedFault], link_conf: Mapping[str, float]
) -> bool:
    """Whether ``rule`` reads the acted-on faults (``present``) and the report's chain links
    (``link_conf``: the best confidence of each)."""
    if any(c not in present for c in rule.needs):
        return False
    if any(present[c].side is None for c in rule.sided):
        return False
    if any(c in present and present[c].severity != "mild" for c in rule.at_most_mild):
        return False
    n = sum(c in present for c in rule.signs)
    linked = rule.link is not None and link_conf.get(rule.link, 0.0) >= CHAIN_LINK_MIN_CONFIDENCE
    return n >= rule.signs_alone or (linked and n >= rule.signs_with_link)


@dataclass
class _Emphasis:
    """The emphasis being read: each exercise's score, the faults it addresses, why, and the
    exercises the chain rules put first (with the faults behind each)."""

    score: dict[str, float]
    addresses: dict[str, list[str]]
    why: dict[str, list[str]]
    leads: list[tuple[str, frozenset[str]]]

    def add(self, code: str, fault: str, bonus: float) -> None:
        self.score[code] += bonus
        if fault not in self.addresses[code]:
            self.addresses[code].append(fault)


def apply_chain_rules(
    rules: Iterable[ChainRule],
    present: Mapping[str, RankedFault],
    link_conf: Mapping[str, float],
    emphasis: _Emphasis,
    notes: list[str],
) -> None:
    """Evaluate the chain rules in order, adding their boosts, leads, notes and reasons."""
    for rule in rules:
        if not chain_rule_fires(rule, present, link_conf):
            if rule.otherwise_note and all(c in present for c in rule.otherwise_needs):
                notes.append(rule.otherwise_note)
            continue
        for b in rule.boosts:
            if b.fault in present:
                emphasis.add(b.exercise, b.fault, present[b.fault].score * b.factor)
        behind = [c for c in rule.needs + rule.signs if c in present]
        if rule.lead is not None:
            emphasis.leads.append((rule.lead, frozenset(behind)))
        signs = " and ".join(FAULT_RULES[c].label for c in rule.signs if c in present)
        notes.append(rule.note.replace("{signs}", signs or rule.no_signs))
        for exercise, reason in rule.why:
            emphasis.why[exercise].append(reason)


# --------------------------------------------------------------------------- the reading


def _input_notes(analysis: AnalysisSummary | None, ranked: tuple[RankedFault, ...]) -> list[str]:
    """What the reading says about its input: no analysis, findings too unsure to act on,
    codes this version does not know, nothing to work on."""
    if analysis is None:
        return [
            "No analysis yet: a general block that builds the foot, ankle and hip base every "
            "runner needs. Film a clip and the next version targets what it shows."
        ]
    notes: list[str] = []
    ignored = sorted({f.code for f in analysis.faults if f.confidence < MIN_CONFIDENCE})
    if ignored:
        notes.append(
            "Reported but not acted on (confidence below "
            f"{MIN_CONFIDENCE:.1f}): {', '.join(ignored)}."
        )
    if analysis.unrecognised:
        notes.append(f"Not known to this planner version: {', '.join(analysis.unrecognised)}.")
    if not ranked:
        notes.append("No fault needs work: a maintenance block keeps the foundation strong.")
    return notes


def _table_emphasis(ranked: tuple[RankedFault, ...]) -> _Emphasis:
    """The fault table's scores: each fault's exercises and drills, the first one in full."""
    emphasis = _Emphasis(defaultdict(float), defaultdict(list), defaultdict(list), [])
    for r in ranked:
        rule = FAULT_RULES[r.code]
        for i, code in enumerate(rule.exercises + rule.drills):
            emphasis.score[code] += r.score * (1.0 if i == 0 else 0.8)
            emphasis.addresses[code].append(r.code)
    return emphasis


def _order(ranked: tuple[RankedFault, ...], emphasis: _Emphasis) -> list[str]:
    """Exercises and drills by priority: those for the top fault, those a chain rule puts
    first for it, then by score, then in the library's order."""
    top = ranked[0].code if ranked else None
    score, addresses = emphasis.score, emphasis.addresses
    candidates = [c for c in CORE_EXERCISES + DRILLS if score[c] > 0 or c in CORE_EXERCISES]

    def order_key(code: str) -> tuple[int, int, float, int]:
        addresses_top = top is not None and top in addresses[code]
        leads_top = any(code == lead and top in trig for lead, trig in emphasis.leads)
        return (
            0 if addresses_top else 1,
            0 if leads_top else 1,
            -score[code],
            _all_codes_order(code),
        )

    return sorted(candidates, key=order_key)


def _items(
    ordered: list[str], ranked: tuple[RankedFault, ...], emphasis: _Emphasis, opposite_hand: bool
) -> tuple[EmphasisItem, ...]:
    by_rank = {r.code: r for r in ranked}
    items: list[EmphasisItem] = []
    for code in ordered:
        faults = tuple(sorted(emphasis.addresses[code], key=lambda f: FAULT_CODES.index(f)))
        if faults:
            labels = [by_rank[f].label for f in faults]
            reason = f"For {', '.join(labels)}"
            if emphasis.why[code]:
                reason += f"; {'; '.join(emphasis.why[code])}"
            reason += "."
        else:
            reason = FOUNDATION_REASON[code]
        if opposite_hand and code == "single_leg_deadlift":
            reason += " Load in the hand opposite the standing leg."
        items.append(EmphasisItem(code=code, reason=reason, faults=faults))
    return tuple(items)


def read_emphasis(analysis: AnalysisSummary | None) -> EmphasisReading:
    """The fault table plus the chain rules: ordered emphasis, notes, drills, side."""
    ranked = rank_faults(analysis)
    notes = _input_notes(analysis, ranked)
    present = {r.code: r for r in ranked}
    link_conf: dict[str, float] = {}
    for c in analysis.chain if analysis is not None else ():
        link_conf[c.link] = max(link_conf.get(c.link, 0.0), c.confidence)

    emphasis = _table_emphasis(ranked)
    apply_chain_rules(CHAIN_RULES, present, link_conf, emphasis, notes)
    # One note per link (the surest reading): a report may list a link once per side, and
    # a diagnosis combines two reports.
    surest: dict[str, ChainFinding] = {}
    for link in analysis.chain if analysis is not None else ():
        if link.link not in surest or link.confidence > surest[link.link].confidence:
            surest[link.link] = link
    for link in surest.values():
        if link.confidence >= CHAIN_LINK_MIN_CONFIDENCE and link.reasoning:
            notes.append(
                f"Report, {link.link.replace('_', ' ')} ({link.confidence:.2f}): {link.reasoning}"
            )
    notes = list(dict.fromkeys(notes))

    ordered = _order(ranked, emphasis)
    opposite_hand = any(FAULT_RULES[r.code].opposite_hand for r in ranked)
    return EmphasisReading(
        items=_items(ordered, ranked, emphasis, opposite_hand),
        chain_notes=tuple(notes),
        core_order=tuple(c for c in ordered if c in CORE_EXERCISES),
        drills=tuple(c for c in ordered if c in DRILLS),
        opposite_hand=opposite_hand,
        weaker_side=weaker_side(ranked),
        ranked=ranked,
    )


def weaker_side(ranked: tuple[RankedFault, ...]) -> str | None:
    """The side for the extra set: the asymmetry's side, else a one-sided hip drop or knee
    collapse of moderate severity or more (a one-sided fault is an asymmetry too)."""
    for r in ranked:
        if r.code == "asymmetry" and r.side:
            return r.side
    for r in ranked:
        if r.code in ("hip_drop", "knee_collapse") and r.side and r.severity != "mild":
            return r.side
    return None


def cue_for_week(ranked: tuple[RankedFault, ...], week_number: int) -> Cue:
    """One running cue a week from the highest-priority fault, rotating through its cues
    so the athlete hears the same idea in a fresh way."""
    if not ranked:
        return Cue(GENERAL_CUES[(week_number - 1) % len(GENERAL_CUES)], None)
    top = ranked[0]
    cues = FAULT_RULES[top.code].cues
    text = cues[(week_number - 1) % len(cues)]
    if "{side}" in text:
        text = cue_text(FAULT_RULES[top.code].entry, text, top.side)
    elif top.side:
        text = f"{text}, most of all on your {top.side} leg"
    return Cue(text, top.code)


# --------------------------------------------------------------------------- calendar layout


def training_days(weekdays: Iterable[int]) -> tuple[int, ...]:
    """Two or three weekdays from the athlete's choice, spread as evenly as possible."""
    days = sorted(set(weekdays))
    if not days:
        return (0, 2, 4)
    if len(days) == 1:
        return tuple(sorted({days[0], (days[0] + 3) % 7}))
    if len(days) <= 3:
        return tuple(days)

    def min_gap(c: tuple[int, ...]) -> int:
        gaps = [b - a for a, b in pairwise(c)] + [c[0] + 7 - c[-1]]
        return min(gaps)

    return max(combinations(days, 3), key=min_gap)


# --------------------------------------------------------------------------- the engine


def start_state(plan: Plan, code: str, set_at: str, level: int | None = None) -> TrackState:
    """Where an exercise starts: by running background, a level lower where a reported
    injury touches what it loads; the lead exercise starts with a third set."""
    ex = get_exercise(code)
    profile = plan.profile
    if ex.kind == "drill":
        return level_start_state(code, level or 1, 2, set_by="start", set_at=set_at)
    if level is None:
        level = START_LEVEL[profile.running_background]
        if injury_hits(profile, code):
            level = max(1, level - 1)
    lead = bool(plan.exercise_order) and code == plan.exercise_order[0]
    sets = 3 if lead and profile.weekly_km < HIGH_RUNNING_KM else 2
    return level_start_state(code, level, sets, set_by="start", set_at=set_at)


def injury_hits(profile: PlannerProfile, code: str) -> list[str]:
    words = get_exercise(code).injury_words
    return [i for i in profile.injuries if any(w in i.lower() for w in words)]


def _load_guidance(
    plan: Plan, layout: SessionLayout, state: TrackState, *, deload: bool, lightened: bool
) -> tuple[str, int]:
    """Effort and load text, and the extra slow seconds when a wanted weight is missing."""
    ex = get_exercise(state.code)
    lv = ex.level(state.level)
    if lightened:
        effort = "Not feeling 100 %: easy, effort 5/10 at most; stop if anything hurts."
    elif deload:
        effort = "Lighter week: effort about 5-6/10, same quality."
    elif ex.kind == "drill":
        effort = "Relaxed and rhythmic; quality over speed."
    else:
        effort = "Effort about 7/10: finish each set with 2-3 good reps left."
    opposite = layout.opposite_hand_load and state.code == "single_leg_deadlift"
    wants_load = lv.needs_load or lv.load_optional or opposite
    if not wants_load:
        return f"Bodyweight. {effort}", 0
    where = {
        "single_leg_deadlift": "in the hand opposite the standing leg",
        "power_raise": "in the hand on the working side",
        "hip_airplane": "held at the chest",
    }[state.code]
    light = opposite and not lv.needs_load  # an opposite-hand load below level 4 stays light
    equipment = plan.profile.equipment
    item = None
    if "dumbbells" in equipment:
        item = "dumbbell"
    elif "kettlebell" in equipment:
        item = "kettlebell"
    if item is not None:
        size = f"a light {item} (2-5 kg)" if light else f"a {item}"
        return f"Hold {size} {where}; pick a weight that leaves 2-3 good reps. {effort}", 0
    if lv.needs_load:
        return (
            f"No weights: the lowering is {NO_LOAD_EXTRA_SLOW_S} s slower to make up for it; "
            f"a backpack with a few books or a full water bottle {where} adds load if you "
            f"have one. {effort}",
            NO_LOAD_EXTRA_SLOW_S,
        )
    return f"No weights: a full water bottle or a light bag {where}. {effort}", 0


def render_exercise(
    plan: Plan,
    state: TrackState,
    *,
    layout: SessionLayout | None = None,
    deload: bool = False,
    lightened: bool = False,
    on: date | None = None,
) -> ExercisePrescription:
    """What the athlete sees for one exercise, from its progression state."""
    layout = layout or plan.layout
    ex = get_exercise(state.code)
    lv = ex.level(state.level)
    sets, reps, hold_s = state.sets, state.reps, state.hold_s
    if deload:
        sets, reps, hold_s = deload_dose(sets, reps, hold_s)
    if lightened:
        sets = lighten_sets(sets)
    guidance, extra_slow = _load_guidance(plan, layout, state, deload=deload, lightened=lightened)
    tempo = None
    if lv.tempo is not None:
        slow = (state.lower_s or lv.tempo[0]) + extra_slow
        tempo = f"{slow}-{lv.tempo[1]}-{lv.tempo[2]}"
    side = None
    if layout.weaker_side and lv.unilateral and ex.kind == "core":
        side = SideExtra(layout.weaker_side, 1)
    cues = list(ex.cues)
    if layout.opposite_hand_load and state.code == "single_leg_deadlift":
        cues.append("Weight in the opposite hand, hips stay square")
    if side is not None:
        cues.append(f"Start with your {side.side} side and finish with its extra set")
    cues += [
        c.text
        for c in plan.coach_cues
        if c.exercise_code == state.code and (on is None or c.from_date <= on)
    ]
    how_to = f"{lv.how_to} {ex.principles}"
    level_name = lv.name
    if state.floor_regressed:
        how_to = f"Easier option while it hurts: {lv.regression} {ex.principles}"
        level_name = f"{lv.name} (easier option)"
    return ExercisePrescription(
        code=state.code,
        name=ex.name,
        kind=ex.kind,
        level=state.level,
        level_name=level_name,
        sets=sets,
        reps=reps,
        hold_s=hold_s,
        tempo=tempo,
        tempo_key=ex.tempo_key,
        load_guidance=guidance,
        side=side,
        unilateral=lv.unilateral,
        cues=tuple(cues),
        how_to=how_to,
        regression=lv.regression,
    )


def _session_codes(layout: SessionLayout, session_key: str) -> list[str]:
    """Drills rotate one per session and come first, after the warm-up, while fresh."""
    ordinal = int(session_key.split("-s")[1]) - 1
    drills = [layout.drills[ordinal % len(layout.drills)]] if layout.drills else []
    return drills + list(layout.exercise_order)


def render_session(
    plan: Plan,
    week: Week,
    skeleton: Session,
    states: Mapping[str, TrackState],
    layout: SessionLayout,
) -> Session:
    exercises = tuple(
        render_exercise(
            plan,
            states[c],
            layout=layout,
            deload=week.is_deload,
            lightened=skeleton.lightened,
            on=skeleton.date,
        )
        for c in _session_codes(layout, skeleton.session_key)
    )
    work = work_seconds(exercises)
    warm = warm_up_seconds(work)
    return replace(
        skeleton,
        exercises=exercises,
        tracks=tuple(states[c] for c in layout.codes),
        warm_up=WARM_UP + (WARM_UP_LONG if warm > WARM_UP_MIN_S else ""),
        warm_up_minutes=round(warm / 60, 1),
        estimated_minutes=round((work + warm) / 60, 1),
        notes=tuple(n.text for n in plan.notes if n.session_key == skeleton.session_key),
        layout=layout,
    )


def state_volume(plan: Plan, layout: SessionLayout, states: Mapping[str, TrackState]) -> int:
    """Core reps of one loading-week session with these states."""
    return sum(
        prescription_volume(render_exercise(plan, states[c], layout=layout))
        for c in layout.exercise_order
    )


def longest_session_minutes(
    plan: Plan, layout: SessionLayout, states: Mapping[str, TrackState]
) -> float:
    """The longest loading-week session these states give, over the drill rotation."""
    variants: list[list[str]] = [[d] for d in layout.drills] or [[]]
    return max(
        session_minutes(
            [
                render_exercise(plan, states[c], layout=layout)
                for c in v + list(layout.exercise_order)
            ]
        )
        for v in variants
    )


def _fits(
    plan: Plan, layout: SessionLayout, states: Mapping[str, TrackState], volume_limit: float
) -> bool:
    return (
        state_volume(plan, layout, states) <= volume_limit + 1e-9
        and longest_session_minutes(plan, layout, states) <= SESSION_MAX_MINUTES + 1e-9
    )


def _governed_step(
    plan: Plan,
    layout: SessionLayout,
    baseline: Mapping[str, TrackState],
    states: dict[str, TrackState],
    to_step: list[str],
    key: str,
) -> dict[str, TrackState]:
    """Each exercise takes the first rule step that keeps the week within the volume cap
    and every session within the time budget; the lead exercise chooses first."""
    limit = state_volume(plan, layout, baseline) * (1 + WEEKLY_VOLUME_CAP)
    current = dict(states)
    for code in to_step:
        for cand in candidate_steps(current[code]):
            trial = {**current, code: replace(cand, set_by="progression", set_at=key)}
            if _fits(plan, layout, trial, limit):
                current = trial
                break
        else:
            current[code] = replace(current[code], set_by="progression", set_at=key)
    return current


def _regroup(plan: Plan, sessions: list[Session]) -> tuple[Week, ...]:
    running_cues = [c for c in plan.coach_cues if c.exercise_code is None]
    return tuple(
        replace(
            w,
            sessions=tuple(s for s in sessions if s.week == w.number),
            coach_cues=tuple(c.text for c in running_cues if c.from_date <= w.end),
        )
        for w in plan.weeks
    )


def _overruled(here: TrackState, carried: TrackState | None) -> bool:
    """An earlier change dated later in the block gives way to a newer pain ceiling: pain
    always regresses, and the coach, flagged, can move the level again."""
    if carried is None or carried.version <= here.version or carried.level_cap is None:
        return False
    return here.level > carried.level_cap or (carried.floor_regressed and not here.floor_regressed)


def _keep_ceiling(here: TrackState, carried: TrackState | None) -> TrackState:
    """Keep an earlier change that is at least as strict, carrying the newer ceiling on so
    that later changes made before it still give way."""
    if carried is None or carried.version <= here.version or carried.level_cap is None:
        return here
    cap = min(carried.level_cap, here.level_cap or carried.level_cap)
    return replace(here, level_cap=cap, version=carried.version)


def replan(
    plan: Plan,
    start: int,
    *,
    recompute: Iterable[str] = (),
    overrides: Mapping[str, TrackState] | None = None,
    hold: Iterable[str] = (),
    relayout: bool = False,
    version: int | None = None,
) -> Plan:
    """Re-render sessions from index ``start`` on, re-deriving the progression of the
    ``recompute`` exercises.

    ``overrides`` set an exercise's state at the ``start`` session (a pain regression, a
    coach's level). ``hold`` withholds the next loading-week step (the week repeats). States
    an adaptation set earlier (pain, easy, coach, swap) and earlier holds are kept, so one
    change never silently undoes another, except that a newer pain ceiling wins. Exercises
    not recomputed keep their states. Each session keeps the layout it was planned with
    unless ``relayout`` gives it the plan's current one. Overrides are stamped with
    ``version`` (default: the next plan version).
    """
    stamp = plan.version + 1 if version is None else version
    sessions = list(plan.sessions)
    weeks = {w.number: w for w in plan.weeks}
    recompute_set = set(recompute)
    overrides = overrides or {}
    pending_hold = set(hold)
    state: dict[str, TrackState] = {}  # latest state of every exercise seen so far
    for s in sessions[:start]:
        state.update({t.code: t for t in s.tracks})
    prev_week = sessions[start - 1].week if start > 0 else None
    for i in range(start, len(sessions)):
        skel = sessions[i]
        week = weeks[skel.week]
        key = skel.session_key
        layout = plan.layout if relayout or skel.layout is None else skel.layout
        existing = {t.code: t for t in skel.tracks}
        loading_boundary = prev_week is not None and skel.week != prev_week and not week.is_deload
        new: dict[str, TrackState] = {}
        to_step: list[str] = []
        for code in layout.codes:
            here = existing.get(code)
            carried = state.get(code)
            if code not in recompute_set:
                new[code] = here or carried or start_state(plan, code, key)
            elif i == start and code in overrides:
                new[code] = replace(overrides[code], set_at=key, version=stamp)
            elif (
                here is not None
                and here.set_at == key
                and here.set_by in SET_BY_ADAPTATION
                and not _overruled(here, carried)
            ):
                new[code] = _keep_ceiling(here, carried)
            elif carried is None:
                new[code] = start_state(plan, code, key)
            elif loading_boundary and (
                code in pending_hold
                or (here is not None and here.set_at == key and here.set_by == "hold")
            ):
                new[code] = replace(carried, set_by="hold", set_at=key)
                pending_hold.discard(code)
            else:
                new[code] = carried
                if loading_boundary:
                    to_step.append(code)
        if to_step:
            baseline = {c: state.get(c, new[c]) for c in layout.codes}
            new = _governed_step(plan, layout, baseline, new, to_step, key)
        # A level up (an easy streak, a coach) brings its own dose: whatever moved, the
        # session keeps within its time budget.
        new = _trim_to_budget(plan, layout, new)
        sessions[i] = render_session(plan, week, skel, new, layout)
        state.update(new)
        prev_week = skel.week
    return replace(plan, weeks=_regroup(plan, sessions))


def _trim_to_budget(
    plan: Plan, layout: SessionLayout, states: dict[str, TrackState]
) -> dict[str, TrackState]:
    """Take sets away (drills first, then the last exercise, the lead last) until the
    longest session fits 25 minutes; a core exercise keeps two sets, a drill one."""
    if longest_session_minutes(plan, layout, states) <= SESSION_MAX_MINUTES + 1e-9:
        return states
    states = dict(states)
    order = list(layout.drills) + list(reversed(layout.exercise_order))
    while longest_session_minutes(plan, layout, states) > SESSION_MAX_MINUTES + 1e-9:
        for code in order:
            floor = 1 if code in layout.drills else 2
            if states[code].sets > floor:
                states[code] = replace(states[code], sets=states[code].sets - 1)
                break
        else:
            break
    return states


def _fit_initial(plan: Plan, states: dict[str, TrackState]) -> dict[str, TrackState]:
    """Trim the first week's sets until the longest session fits 25 minutes."""
    layout = plan.layout
    order = list(reversed(layout.exercise_order)) + list(layout.drills)
    while longest_session_minutes(plan, layout, states) > SESSION_MAX_MINUTES:
        for code in order:
            floor = 1 if code in layout.drills else 2
            if states[code].sets > floor:
                states[code] = replace(states[code], sets=states[code].sets - 1)
                break
        else:
            break
    return states


# --------------------------------------------------------------------------- generation


def generate_plan(
    profile: PlannerProfile,
    analysis: AnalysisSummary | None = None,
    *,
    weeks: int = 6,
    plan_id: str | None = None,
    substitutions: tuple[Substitution, ...] = (),
    levels: Mapping[str, int] | None = None,
) -> Plan:
    """A new block from the profile and the latest analysis (or a general block without
    one). Pure and deterministic: the same inputs give the same plan, byte for byte.

    A block that follows another carries the coach's swaps (``substitutions``: kept, and
    said in the reason) and where each exercise stood (``levels``: progress is not reset)."""
    if not 4 <= weeks <= 8:
        raise ValueError("a block is 4 to 8 weeks")
    reading = read_emphasis(analysis)
    days = training_days(profile.strength_weekdays)
    week_list: list[Week] = []
    for k in range(weeks):
        start = profile.block_start + timedelta(days=7 * k)
        dates = [start + timedelta(days=d) for d in range(7)]
        sessions = tuple(
            Session(session_key=f"w{k + 1}-s{j + 1}", date=d, week=k + 1)
            for j, d in enumerate(d for d in dates if d.weekday() in days)
        )
        film = None
        if k == weeks - 1:
            film = FILM_AGAIN
        elif k == 0 and analysis is None:
            film = FILM_FIRST
        week_list.append(
            Week(
                number=k + 1,
                start=start,
                is_deload=(k + 1) % DELOAD_EVERY == 0,
                cue_of_week=cue_for_week(reading.ranked, k + 1),
                sessions=sessions,
                film_again=film,
            )
        )

    notes = list(reading.chain_notes)
    flags: list[CoachFlag] = []
    for code in CORE_EXERCISES:
        hits = injury_hits(profile, code)
        if hits:
            notes.append(
                f"Reported injury ({', '.join(hits)}): the {get_exercise(code).name.lower()} "
                "starts a level lower; pain of 4/10 or more moves it down again."
            )
    if profile.injuries:
        flags.append(
            CoachFlag(
                code="injury_reported",
                message=f"Injuries reported at onboarding: {', '.join(profile.injuries)}.",
                raised_on=profile.block_start,
            )
        )
    if profile.weekly_km >= HIGH_RUNNING_KM:
        notes.append(
            f"Running {profile.weekly_km:g} km a week already loads the same tissues: every "
            "exercise starts at two sets."
        )
    lead = reading.items[0].code if reading.items else reading.core_order[0]
    source = (
        f"the analysis of {analysis.recorded_at.isoformat()}"
        if analysis is not None
        else "the profile (no analysis yet)"
    )
    order, drill_codes = list(reading.core_order), list(reading.drills)
    kept: list[str] = []
    for sub in substitutions:
        if sub.from_code in order or sub.from_code in drill_codes:
            kept.append(
                f"the coach's swap of the {get_exercise(sub.from_code).name.lower()} for the "
                f"{get_exercise(sub.to_code).name.lower()} carries over"
            )
        order = [sub.to_code if c == sub.from_code else c for c in order]
        drill_codes = [sub.to_code if c == sub.from_code else c for c in drill_codes]
    order = list(dict.fromkeys(order))
    drill_codes = [d for d in dict.fromkeys(drill_codes) if d not in order]
    if substitutions:
        lead = order[0] if order else lead
    reason = (
        f"New {weeks}-week block from {source}: "
        f"{get_exercise(lead).name.lower()} leads, {len(days)} sessions a week"
        + ("; " + "; ".join(kept) if kept else "")
        + "."
    )
    plan = Plan(
        plan_id=plan_id or f"plan-{profile.block_start.isoformat()}",
        version=1,
        reason=reason,
        profile=profile,
        analysis=analysis,
        emphasis=reading.items,
        chain_notes=tuple(notes),
        weaker_side=reading.weaker_side,
        opposite_hand_load=reading.opposite_hand,
        exercise_order=tuple(order),
        drills=tuple(drill_codes),
        weeks=tuple(week_list),
        coach_flags=tuple(flags),
        substitutions=tuple(substitutions),
        history=(VersionNote(1, "generated", reason, profile.block_start),),
        baseline=analysis,
    )
    first_key = plan.weeks[0].sessions[0].session_key
    template = plan.exercise_order + plan.drills
    carried = levels or {}
    initial = _fit_initial(plan, {
        c: start_state(plan, c, first_key,
                       level=min(carried[c], get_exercise(c).max_level) if c in carried else None)
        for c in template})
    return replan(plan, 0, recompute=template, overrides=initial, relayout=True, version=1)
