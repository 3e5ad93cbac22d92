"""The chain rules as data: each rule of ``CHAIN_RULES`` fires on its known fault pattern
(and not on a near miss), with the effect the table gives it."""

from __future__ import annotations

from backend.planner import ChainFinding, read_emphasis
from backend.planner.generate import CHAIN_RULES, chain_rule_fires, rank_faults

from .strategies import analysis, fault

RULES = {r.name: r for r in CHAIN_RULES}


def fires(name: str, *found: object, chain: tuple[ChainFinding, ...] = ()) -> bool:
    a = analysis(*found, chain=chain)  # type: ignore[arg-type]
    present = {r.code: r for r in rank_faults(a)}
    links = {c.link: c.confidence for c in chain}
    return chain_rule_fires(RULES[name], present, links)


def test_the_table_is_data_with_reasons_and_sources() -> None:
    assert list(RULES) == ["foot_ankle_first", "posterior_oblique_sling", "stride_rate_first",
                           "cadence_helps_the_hip", "lean_hides_the_hip", "knee_from_2d"]
    for rule in CHAIN_RULES:
        assert rule.rationale and rule.source and rule.note


def test_foot_ankle_first() -> None:
    assert fires("foot_ankle_first", fault("hip_drop"), fault("knee_collapse"))
    assert fires("foot_ankle_first", fault("hip_drop"),
                 chain=(ChainFinding("foot_ankle", 0.6),))
    assert not fires("foot_ankle_first", fault("hip_drop"),
                     chain=(ChainFinding("foot_ankle", 0.4),))
    assert not fires("foot_ankle_first", fault("knee_collapse"))
    reading = read_emphasis(analysis(fault("hip_drop", "marked"),
                                     fault("recovery_external_rotation")))
    assert reading.core_order[0] == "power_raise"
    assert reading.chain_notes[0] == (
        "Look beyond the hip: hip drop comes with leg turning out in recovery, so the foot "
        "and ankle come first: power raise before heavy hip work.")
    alone = read_emphasis(analysis(fault("hip_drop", "marked")))
    assert alone.chain_notes[0].startswith("Hip drop without foot or ankle signs")


def test_posterior_oblique_sling() -> None:
    assert fires("posterior_oblique_sling", fault("crossover_gait"), fault("arm_crossover"))
    assert fires("posterior_oblique_sling", fault("crossover_gait"),
                 chain=(ChainFinding("posterior_oblique_sling", 0.5),))
    assert not fires("posterior_oblique_sling", fault("crossover_gait"))
    reading = read_emphasis(analysis(fault("crossover_gait"), fault("arm_crossover")))
    assert reading.core_order[0] == "single_leg_deadlift"
    assert reading.drills == ("arm_swing_drill",)
    assert reading.opposite_hand
    sld = next(i for i in reading.items if i.code == "single_leg_deadlift")
    assert "posterior oblique sling: load in the opposite hand" in sld.reason
    arms = read_emphasis(analysis(fault("arm_crossover")))
    assert any(n.startswith("Arms crossing the midline on their own") for n in arms.chain_notes)


def test_stride_rate_first() -> None:
    assert fires("stride_rate_first", fault("overstride"), fault("low_cadence"))
    assert fires("stride_rate_first", fault("overstride"),
                 chain=(ChainFinding("stride_rate", 0.7),))
    assert not fires("stride_rate_first", fault("overstride"))
    assert not fires("stride_rate_first", chain=(ChainFinding("stride_rate", 0.9),))
    reading = read_emphasis(analysis(fault("overstride"), fault("low_cadence")))
    drill = next(i for i in reading.items if i.code == "cadence_drill")
    assert drill.faults == ("overstride", "low_cadence") and "stride rate first" in drill.reason


def test_cadence_helps_the_hip() -> None:
    assert fires("cadence_helps_the_hip", fault("hip_drop"), fault("low_cadence"))
    assert not fires("cadence_helps_the_hip", fault("hip_drop"), fault("overstride"))
    reading = read_emphasis(analysis(fault("hip_drop"), fault("low_cadence")))
    assert any("Bramah 2019" in n for n in reading.chain_notes)


def test_lean_hides_the_hip() -> None:
    assert fires("lean_hides_the_hip", fault("trunk_lean", side="left"))
    assert fires("lean_hides_the_hip", fault("trunk_lean", side="left"),
                 fault("hip_drop", "mild"))
    assert not fires("lean_hides_the_hip", fault("trunk_lean", side="left"),
                     fault("hip_drop", "moderate"))
    assert not fires("lean_hides_the_hip", fault("trunk_lean"))  # a forward lean has no side
    reading = read_emphasis(analysis(fault("trunk_lean", side="right")))
    airplane = next(i for i in reading.items if i.code == "hip_airplane")
    assert airplane.faults == ("trunk_lean",)
    assert "the trunk lean may hide a hip weakness" in airplane.reason


def test_knee_from_2d() -> None:
    assert fires("knee_from_2d", fault("knee_collapse"))
    assert not fires("knee_from_2d", fault("knee_collapse", c=0.1))  # not acted on
    reading = read_emphasis(analysis(fault("knee_collapse")))
    assert reading.chain_notes[-1].startswith("The knee moving inward is read from 2D video")
