"""The fault catalogue is the one home of each fault's words: every fault the rules can emit
has an entry, the report and the plan read their cues from it (one wording), and gait takes
nothing from the planner (the producer does not depend on its consumer)."""

from __future__ import annotations

import ast
from datetime import date
from pathlib import Path

from backend.gait import catalogue, faults
from backend.gait.catalogue import CHAIN_LINKS, FAULT_CODES, FAULTS, cue_text
from backend.gait.types import ChainLink
from backend.planner import FAULT_RULES, generate_plan
from backend.planner.generate import cue_for_week, rank_faults
from tests.gait.conftest import Runner
from tests.planner.strategies import analysis, fault, profile

GAIT = Path(faults.__file__).parent


def emitted_codes() -> set[str]:
    """Every fault code ``faults.py`` can emit: the first argument of each ``_fault`` and
    ``_banded`` call (read from the source, so a new rule cannot slip past)."""
    tree = ast.parse((GAIT / "faults.py").read_text())
    codes = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in ("_fault", "_banded") and node.args):
            first = node.args[0]
            if isinstance(first, ast.Name) and first.id == "code":
                continue  # _banded passing its own argument on
            assert isinstance(first, ast.Constant), ast.unparse(node)
            codes.add(first.value)
    return codes


def test_every_fault_the_rules_emit_has_a_catalogue_entry() -> None:
    codes = emitted_codes()
    assert codes == set(FAULT_CODES) == set(FAULTS)
    for code, entry in FAULTS.items():
        assert entry.code == code
        assert entry.title and entry.label and entry.explanation and entry.evidence
        assert entry.cues and entry.metrics and entry.exercises
        for cue in entry.cues:
            assert cue == cue.strip() and not cue.endswith("."), cue
            assert "{side}" not in cue or entry.cue_without_side, code
    assert list(FAULTS) == list(FAULT_CODES)  # priority order


def test_the_exercises_it_points_to_are_in_the_planners_library() -> None:
    from backend.planner import CORE_EXERCISES, DRILLS

    for entry in FAULTS.values():
        assert set(entry.exercises) <= set(CORE_EXERCISES), entry.code
        assert set(entry.drills) <= set(DRILLS), entry.code


def test_the_planner_reads_the_catalogue() -> None:
    assert set(FAULT_RULES) == set(FAULTS)
    for code, rule in FAULT_RULES.items():
        entry = catalogue.fault(code)
        assert rule.entry is entry
        assert (rule.label, rule.cues, rule.exercises, rule.drills, rule.opposite_hand) == (
            entry.label, entry.cues, entry.exercises, entry.drills, entry.opposite_hand)


def test_one_wording_from_the_report_to_the_plan(runner: Runner) -> None:
    """The cues a report's fault carries are the ones the plan's cue of the week rotates
    through, word for word."""
    _, r = runner("rear", camera_azimuth_deg=0.0, step_width_norm=-0.04, arm_crossover_norm=0.05)
    assert r.faults
    for f in r.faults:
        entry = catalogue.fault(f.code)
        assert f.title == entry.title and f.why_it_matters == entry.explanation
        assert f.cues == entry.cues_for(f.side)
    for code in FAULT_CODES:
        for side in (None, "left"):
            ranked = rank_faults(analysis(fault(code, "marked", side)))
            entry = catalogue.fault(code)
            for week in range(1, len(entry.cues) + 1):
                cue = cue_for_week(ranked, week)
                said = cue_text(entry, entry.cues[week - 1], side)
                assert cue.fault == code
                assert cue.text == said or cue.text.startswith(f"{said}, most of all on your")
    plan = generate_plan(profile(), analysis(fault("crossover_gait")))
    assert plan.weeks[0].cue_of_week.text == catalogue.fault("crossover_gait").cues[0]


def test_asymmetry_cues_name_the_side() -> None:
    entry = catalogue.fault("asymmetry")
    assert entry.cues_for("left")[0] == "Even steps: your left foot lands as quietly as the other"
    assert entry.cues_for(None)[0] == "Even steps: both feet land alike"


def test_gait_takes_nothing_from_the_planner() -> None:
    for path in GAIT.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n.startswith("backend.planner") for n in names), path.name


def test_chain_links_are_the_catalogues() -> None:
    assert ChainLink("posture", 0.5, "x").link in CHAIN_LINKS
    from backend.planner.types import AnalysisSummary

    summary = AnalysisSummary.from_report_dict(
        {"faults": [{"code": c, "severity": "mild", "confidence": 0.5} for c in FAULT_CODES],
         "chain": [{"link": link, "confidence": 0.5} for link in CHAIN_LINKS]},
        recorded_at=date(2026, 12, 5))
    assert summary.unrecognised == ()
