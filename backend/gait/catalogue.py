"""The fault catalogue: what each fault the analysis can report is, in one place.

Knowledge as data (the wger style): one frozen entry per fault code with its title (the
report's heading), its label (how a sentence names it, e.g. a plan's reasons), why it
matters, the running cues, what the evidence measures, and the exercises and drills it
points to. The analysis (``faults.py``) writes its faults from these entries and the planner
reads them: gait owns the vocabulary, the planner depends on it, never the reverse.

Cue texts are short phrases without a closing full stop, so a cue reads the same in the
report and in the plan (the plan may add "..., most of all on your left leg"). A cue with
``{side}`` is filled with the fault's side; ``cue_without_side`` stands in where there is
none.

Pure stdlib: nothing here loads numpy or the analysis.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

# Ordered by tie-break priority: when two faults score the same, the earlier one leads.
FAULT_CODES: tuple[str, ...] = (
    "hip_drop",
    "crossover_gait",
    "knee_collapse",
    "overstride",
    "low_cadence",
    "trunk_lean",
    "asymmetry",
    "recovery_external_rotation",
    "arm_crossover",
)
CHAIN_LINKS: tuple[str, ...] = (
    "foot_ankle",
    "activation",
    "posterior_oblique_sling",
    "posture",
    "stride_rate",
)
SEVERITIES: tuple[str, ...] = ("mild", "moderate", "marked")


@dataclass(frozen=True)
class FaultEntry:
    """One fault: its words, its evidence and the work it points to."""

    code: str
    title: str  # the report's heading
    label: str  # inside a sentence ("For contralateral hip drop (moderate, left)")
    explanation: str  # why it matters (the report's ``why_it_matters``)
    cues: tuple[str, ...]  # running cues, first one first; "{side}" filled with the side
    evidence: str  # what is measured, stride by stride, to find it
    metrics: tuple[str, ...]  # the report metrics its evidence comes from
    exercises: tuple[str, ...]  # the strength exercises it points to, the first one leads
    drills: tuple[str, ...] = ()  # running drills it points to
    opposite_hand: bool = False  # single-leg deadlift loaded in the opposite hand
    cue_without_side: str | None = None  # for a "{side}" cue when no side is known

    def cues_for(self, side: str | None) -> list[str]:
        """The cues with ``{side}`` filled in (or ``cue_without_side`` without a side)."""
        return [cue_text(self, c, side) for c in self.cues]


def cue_text(entry: FaultEntry, cue: str, side: str | None) -> str:
    """One cue of ``entry`` for ``side``: a "{side}" cue filled in, or its side-less form."""
    if "{side}" not in cue:
        return cue
    if side:
        return cue.format(side=side)
    return entry.cue_without_side or cue.replace("{side} ", "")


_ENTRIES: tuple[FaultEntry, ...] = (
    FaultEntry(
        code="hip_drop",
        title="Contralateral hip drop",
        label="contralateral hip drop",
        explanation=(
            "The pelvis drops on the swing side when the stance hip does not hold it level. "
            "More drop went with running injuries (Bramah 2018: each extra degree raised the "
            "odds of being in the injured group by about 80 %)."
        ),
        cues=("Run tall, belt line level", "Push the ground away"),
        evidence=(
            "The hip line against the horizontal at mid-stance, in degrees, stride by stride "
            "on each stance leg (from behind or in front)."
        ),
        metrics=("pelvic_drop_deg",),
        exercises=("hip_airplane", "single_leg_deadlift"),
    ),
    FaultEntry(
        code="crossover_gait",
        title="Crossover gait (narrow or crossing steps)",
        label="crossover gait",
        explanation=(
            "Feet landing on or across the midline raise hip adduction and strain on the "
            "iliotibial band (Brindle 2014, Meardon 2012)."
        ),
        cues=("Run on two rails", "Feet land under the hips"),
        evidence=(
            "The width between the feet at contact in leg lengths, step by step (at or below "
            "0 when a foot lands on or across the body midline), and the fraction of steps "
            "that cross."
        ),
        metrics=("step_width_norm",),
        exercises=("hip_airplane", "single_leg_deadlift"),
        opposite_hand=True,
    ),
    FaultEntry(
        code="knee_collapse",
        title="Knee moves inward in stance",
        label="knee moving inward",
        explanation=(
            "The knee moving inward in the image is mostly hip-driven; 2D valgus does not "
            "track 3D knee abduction, so read it with the hip findings."
        ),
        cues=("Knee over the second toe",),
        evidence=(
            "The knee's frontal-plane projection angle at mid-stance, in degrees, stride by "
            "stride on each leg (a 2D angle, capped in confidence)."
        ),
        metrics=("knee_fppa_deg",),
        exercises=("power_raise", "single_leg_deadlift"),
    ),
    FaultEntry(
        code="overstride",
        title="Overstride",
        label="overstride",
        explanation=(
            "Landing with the foot far ahead of the hip and the shank reaching forward raises "
            "the braking and knee load (Wille 2014: contact geometry explained 43-58 % of it)."
        ),
        cues=("Land under your hips", "Quick light steps"),
        evidence=(
            "From the side at initial contact: the heel's distance ahead of the hip in leg "
            "lengths and the shank's angle to the vertical, stride by stride on each leg."
        ),
        metrics=("foot_ahead_of_hip_norm", "shank_angle_ic_deg"),
        exercises=("power_raise", "single_leg_deadlift"),
        drills=("cadence_drill",),
    ),
    FaultEntry(
        code="low_cadence",
        title="Low cadence",
        label="low cadence",
        explanation=(
            "Few steps a minute mean long steps; 5-10 % more steps cut knee and hip loading "
            "(Heiderscheit 2011) and pelvic drop (Bramah 2019)."
        ),
        cues=("+5 % steps per minute", "Quicker arms", "Quick light steps"),
        evidence="Steps per minute from the time between contacts, step by step.",
        metrics=("cadence_spm",),
        exercises=("power_raise", "single_leg_deadlift"),
        drills=("cadence_drill",),
    ),
    FaultEntry(
        code="trunk_lean",
        title="Trunk lean",
        label="trunk lean",
        explanation=(
            "A large forward lean went with injury at mid-stance (Bramah 2018); a lean toward "
            "the stance side can hide a hip weakness."
        ),
        cues=("Proud chest, lean from the ankles",),
        evidence=(
            "The trunk line (mid-hip to mid-shoulder) against the vertical at mid-stance, in "
            "degrees: forward from the side, toward the stance side from behind or in front."
        ),
        metrics=("trunk_forward_lean_deg", "trunk_lateral_lean_deg"),
        exercises=("single_leg_deadlift",),
    ),
    FaultEntry(
        code="asymmetry",
        title="Left/right asymmetry",
        label="left/right asymmetry",
        explanation=(
            "One side moves differently from the other by more than the measurement's "
            "smallest detectable difference (Dingenen 2018): the weaker side needs extra work."
        ),
        cues=(
            "Even steps: your {side} foot lands as quietly as the other",
            "Push the ground away as firmly with your {side} leg",
        ),
        cue_without_side="Even steps: both feet land alike",
        evidence=(
            "The left minus right difference of one metric's medians (pelvic drop, hip "
            "adduction, lateral trunk lean, knee flexion or contact time) against its "
            "smallest detectable difference, kept only when the clip's own strides repeat it."
        ),
        metrics=("pelvic_drop_deg", "hip_adduction_deg", "trunk_lateral_lean_deg",
                 "knee_flexion_midstance_deg", "ground_contact_ms"),
        exercises=("single_leg_deadlift", "hip_airplane"),
    ),
    FaultEntry(
        code="recovery_external_rotation",
        title="Leg turns out in the recovery (heel whip)",
        label="leg turning out in recovery",
        explanation=(
            "The heel whipping in early swing shows the leg rotating; a 2D sign with low "
            "confidence, often a foot and lower-leg matter."
        ),
        cues=("Knees and toes point where you are going",),
        evidence=(
            "The heel's sideways whip in early swing as an angle in degrees, stride by stride "
            "on each leg (from behind or in front; counted only when most strides show it)."
        ),
        metrics=("recovery_external_rotation_deg",),
        exercises=("power_raise", "hip_airplane"),
    ),
    FaultEntry(
        code="arm_crossover",
        title="Arms cross the midline",
        label="arms crossing the midline",
        explanation=(
            "Arms swinging across the body go with trunk rotation and, with a crossover gait, "
            "point to the posterior oblique sling (the evidence alone is thin)."
        ),
        cues=("Hands brush the hips, do not cross the zipper", "Elbows drive straight back"),
        evidence=(
            "How far each wrist swings across the body midline, in leg lengths, stride by "
            "stride on each arm (mild unless a crossover gait comes with it)."
        ),
        metrics=("arm_crossover_norm",),
        exercises=("single_leg_deadlift",),
        drills=("arm_swing_drill",),
        opposite_hand=True,
    ),
)

FAULTS: MappingProxyType[str, FaultEntry] = MappingProxyType(
    {e.code: e for e in sorted(_ENTRIES, key=lambda e: FAULT_CODES.index(e.code))})


def fault(code: str) -> FaultEntry:
    """The catalogue entry of ``code`` (KeyError for a code the analysis does not know)."""
    return FAULTS[code]
