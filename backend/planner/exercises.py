"""The exercise library, as data.

Three core exercises (power raise, single-leg deadlift, hip airplane) with five ordered
levels each, and two supporting drills the fault table names (arm swing, cadence). Every
level carries its own regression, so "move down a level" always has somewhere to go, even
from level 1.

Tempo is three numbers in the order the exercise's ``tempo_key`` names; the first number is
always the slow phase, the one the tempo progression lengthens.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Level:
    number: int
    name: str
    how_to: str
    regression: str  # what to do instead when this level hurts or cannot be done well
    unilateral: bool
    reps: int | None = None  # starting reps at this level (per side for one-leg work)
    hold_s: int | None = None  # drills: seconds of work per set
    tempo: tuple[int, int, int] | None = None
    needs_load: bool = False  # a weight is part of the level
    load_optional: bool = False  # a weight helps but the tempo alone carries the level


@dataclass(frozen=True)
class Exercise:
    code: str
    name: str
    kind: str  # "core" or "drill"
    principles: str  # what every level shares
    cues: tuple[str, ...]
    levels: tuple[Level, ...]
    tempo_key: str | None
    rest_s: int  # rest between rounds; one-leg work rests the other side while it works
    injury_words: tuple[str, ...] = ()  # reported injuries that make this one start lower

    def level(self, number: int) -> Level:
        return self.levels[number - 1]

    @property
    def max_level(self) -> int:
        return len(self.levels)


POWER_RAISE = Exercise(
    code="power_raise",
    name="Power raise",
    kind="core",
    principles=(
        "Knees slightly bent, weight spread over the tripod foot (big toe, little toe, "
        "heel). Screw the feet into the floor so the hips feel a gentle outward turn, "
        "glutes on. Rise as high as you can, pause, and lower slowly."
    ),
    cues=(
        "Tripod foot: big toe, little toe, heel",
        "Screw the feet into the floor, glutes on",
        "Rise high, lower slowly",
    ),
    tempo_key="lower-pause at the top-rise",
    rest_s=45,
    injury_words=("achilles", "calf", "plantar", "foot", "ankle", "shin", "toe"),
    levels=(
        Level(
            1,
            "Supported two-leg",
            "Both feet, hands on a wall or counter for balance.",
            "Seated power raise: sit tall, feet flat, press the tripod foot down and lift "
            "both heels, hands pressing on the knees; or shorten the range until it is "
            "pain-free.",
            unilateral=False,
            reps=12,
            tempo=(3, 1, 1),
        ),
        Level(
            2,
            "Two-leg",
            "Both feet, no support; fingertips on a wall only if you wobble.",
            "Level 1: supported two-leg, hands on the wall.",
            unilateral=False,
            reps=12,
            tempo=(3, 1, 1),
        ),
        Level(
            3,
            "Single-leg",
            "One foot, fingertips on a wall; knee soft, pelvis level.",
            "Level 2: rise on two legs, or rise on two and lower on one.",
            unilateral=True,
            reps=8,
            tempo=(3, 1, 1),
        ),
        Level(
            4,
            "Single-leg with load",
            "One foot, the weight in the hand on the working side, fingertips of the other "
            "hand on a wall.",
            "Level 3: single-leg without load.",
            unilateral=True,
            reps=8,
            tempo=(3, 1, 1),
            needs_load=True,
        ),
        Level(
            5,
            "Single-leg, held top, slow lower",
            "One foot, rise, hold the top for 3 s, lower over 4 s or more; keep the level 4 "
            "weight if you have one.",
            "Level 4: single-leg with load at the normal tempo.",
            unilateral=True,
            reps=6,
            tempo=(4, 3, 1),
            load_optional=True,
        ),
    ),
)

SINGLE_LEG_DEADLIFT = Exercise(
    code="single_leg_deadlift",
    name="Single-leg deadlift",
    kind="core",
    principles=(
        "Stand on one leg: tripod foot, soft knee, screw the foot into the floor. Keep the "
        "pelvis level and square (the free hip does not open), push the hips back and hinge "
        "until the hamstring is loaded, then push the floor away to stand tall, glute on."
    ),
    cues=(
        "Pelvis level and square: the free hip stays closed",
        "Tripod foot, soft knee",
        "Push the floor away to stand tall",
    ),
    tempo_key="lower-pause at the bottom-stand",
    rest_s=45,
    injury_words=("hamstring", "back", "lumbar"),
    levels=(
        Level(
            1,
            "Kickstand",
            "Back toes rest lightly beside the front heel; most of the weight on the front leg.",
            "Two-leg hip hinge with a stick along the back, or a shorter range.",
            unilateral=True,
            reps=8,
            tempo=(3, 1, 1),
        ),
        Level(
            2,
            "Hand-supported",
            "Free leg reaches back; one hand on a wall or chair for balance.",
            "Level 1: kickstand, back toes down.",
            unilateral=True,
            reps=8,
            tempo=(3, 1, 1),
        ),
        Level(
            3,
            "Free bodyweight",
            "No support; arms hang or reach toward the floor.",
            "Level 2: one hand on a wall.",
            unilateral=True,
            reps=8,
            tempo=(3, 1, 1),
        ),
        Level(
            4,
            "Load in the opposite hand",
            "The weight hangs in the hand opposite the standing leg, so the load crosses the "
            "back (posterior oblique sling: opposite glute to lat). Pelvis stays square.",
            "Level 3: free bodyweight.",
            unilateral=True,
            reps=8,
            tempo=(3, 1, 1),
            needs_load=True,
        ),
        Level(
            5,
            "Heavier load or slow tempo",
            "A heavier weight in the opposite hand, or the level 4 weight lowered over 5 s.",
            "Level 4: lighter load at the normal tempo.",
            unilateral=True,
            reps=6,
            tempo=(5, 1, 1),
            needs_load=True,
        ),
    ),
)

HIP_AIRPLANE = Exercise(
    code="hip_airplane",
    name="Hip airplane",
    kind="core",
    principles=(
        "Stand on one leg and hinge forward with the pelvis level. Turn the pelvis open (the "
        "free hip rotates up) and closed (it rotates down toward the stance leg) around the "
        "stance hip, while the stance knee and foot stay still. Slow, controlled, breathing."
    ),
    cues=(
        "Turn around the stance hip; knee and foot stay still",
        "Open slowly, close with control",
        "Tripod foot, soft knee",
    ),
    tempo_key="open-hold-close",
    rest_s=30,
    injury_words=("hip", "groin", "adductor", "glute", "it band", "itb"),
    levels=(
        Level(
            1,
            "Wall-supported, small range",
            "A hand on the wall, small turns.",
            "Standing hip turns with both hands on a counter and little or no hinge.",
            unilateral=True,
            reps=5,
            tempo=(2, 1, 2),
        ),
        Level(
            2,
            "Free, small range",
            "No support, small turns.",
            "Level 1: a hand on the wall.",
            unilateral=True,
            reps=5,
            tempo=(2, 1, 2),
        ),
        Level(
            3,
            "Free, full range",
            "No support, turn as far as control allows each way.",
            "Level 2: free, small range.",
            unilateral=True,
            reps=5,
            tempo=(2, 1, 2),
        ),
        Level(
            4,
            "Hold at end range",
            "Full range with a 3 s hold at each end.",
            "Level 3: full range without the holds.",
            unilateral=True,
            reps=5,
            tempo=(2, 3, 2),
        ),
        Level(
            5,
            "With light load",
            "Full range holding a light weight at the chest.",
            "Level 4: end-range holds without load.",
            unilateral=True,
            reps=5,
            tempo=(2, 2, 2),
            needs_load=True,
        ),
    ),
)

ARM_SWING_DRILL = Exercise(
    code="arm_swing_drill",
    name="Arm-swing drill",
    kind="drill",
    principles=(
        "Tall posture, elbows at about 90 degrees, swing from the shoulders: hands travel "
        "from the hip to chest height and the elbows drive straight back. The hands never "
        "cross the body's midline."
    ),
    cues=(
        "Hands brush the hips, do not cross the zipper",
        "Elbows drive straight back",
    ),
    tempo_key=None,
    rest_s=20,
    levels=(
        Level(
            1,
            "Standing, at a mirror",
            "Feet hip-width apart, facing a mirror, a steady running rhythm.",
            "Seated on a chair, slow swings.",
            unilateral=False,
            hold_s=30,
        ),
        Level(
            2,
            "Split stance, quicker rhythm",
            "Short split stance, swing at your running rhythm and a little quicker.",
            "Level 1: standing at a mirror.",
            unilateral=False,
            hold_s=30,
        ),
    ),
)

CADENCE_DRILL = Exercise(
    code="cadence_drill",
    name="Cadence work",
    kind="drill",
    principles=(
        "Quick, light steps to a metronome set about 5 % above your running cadence (the "
        "report shows it). Then carry the rhythm into your next easy run: 4 x 1 min at the "
        "new beat."
    ),
    cues=("Quick light steps", "+5 % steps per minute"),
    tempo_key=None,
    rest_s=20,
    levels=(
        Level(
            1,
            "Quick feet in place",
            "Small, quick steps in place with quick arms.",
            "March in place to the metronome.",
            unilateral=False,
            hold_s=20,
        ),
        Level(
            2,
            "Quick feet, forward and back",
            "Quick steps moving a metre forward and back, on the beat.",
            "Level 1: quick feet in place.",
            unilateral=False,
            hold_s=20,
        ),
    ),
)

EXERCISES: dict[str, Exercise] = {
    e.code: e
    for e in (POWER_RAISE, SINGLE_LEG_DEADLIFT, HIP_AIRPLANE, ARM_SWING_DRILL, CADENCE_DRILL)
}
CORE_EXERCISES: tuple[str, ...] = ("power_raise", "single_leg_deadlift", "hip_airplane")
DRILLS: tuple[str, ...] = ("arm_swing_drill", "cadence_drill")

# Starting level of each core exercise by running background; drills start at level 1.
START_LEVEL: dict[str, int] = {"beginner": 1, "intermediate": 2, "advanced": 3}


def get_exercise(code: str) -> Exercise:
    try:
        return EXERCISES[code]
    except KeyError:
        raise ValueError(f"unknown exercise {code!r}") from None
