"""Every number the analysis decides with names its source (issue 4: "every threshold in the
code names its source in a comment or in running-form.md").

Each module-level numeric constant in backend/gait (a number, a tuple or dict of numbers, or
severity ``Bands``) must have, in its comment paragraph (the comment lines and assignments
around it up to a blank line) or on its own line, one of: "RF" (the shared running-form.md),
a cited paper ("Dingenen 2018"), "the issue", or "StrideLab heuristic" (a departure listed in
docs/gait.md). And no decision number hides inline in a function (see ``inline_numbers``).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

GAIT = Path(__file__).resolve().parents[2] / "backend" / "gait"
SOURCE = re.compile(r"\bRF\b|running-form|StrideLab heuristic|the issue|"
                    r"\b[A-Z][A-Za-z-]+(?: and [A-Z][A-Za-z-]+| et al\.?)?,? \(?(?:19|20)\d\d\b")
DOCS = Path(__file__).resolve().parents[2] / "docs" / "gait.md"
# Numbers that are not thresholds: landmark index tables, sign conventions, the format version.
NOT_THRESHOLDS = {"WHOLE_BODY", "WHOLE_BODY_PAIRS", "SIDE_IDX", "LEG_IDX", "SIGMA", "LEFT_LEG",
                  "RIGHT_LEG",
                  "SCHEMA_VERSION"}


def _numeric(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, int | float) and not isinstance(node.value, bool)
    if isinstance(node, ast.UnaryOp | ast.BinOp):
        return all(_numeric(n) for n in ast.iter_child_nodes(node)
                   if isinstance(n, ast.expr))
    if isinstance(node, ast.Tuple | ast.List):
        return bool(node.elts) and all(_numeric(e) for e in node.elts)
    if isinstance(node, ast.Dict):
        return bool(node.values) and all(v is not None and _numeric(v) for v in node.values)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return node.func.id == "Bands"
    return False


def _constants(path: Path) -> list[tuple[str, int, int]]:
    tree = ast.parse(path.read_text())
    out = []
    for node in tree.body:
        target = value = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        if isinstance(target, ast.Name) and target.id.isupper() and value is not None \
                and _numeric(value):
            out.append((target.id, node.lineno, node.end_lineno or node.lineno))
    return out


def _own_comment(lines: list[str], start: int, end: int,
                 starts: dict[int, int]) -> str:
    """The constant's own lines, its trailing comment and the comment block right above it; a
    constant with no comment of its own right under another one shares that one's (a group)."""
    text = lines[start - 1 : end]
    i = start - 1
    above = []
    while i > 0 and lines[i - 1].lstrip().startswith("#"):
        above.append(lines[i - 1])
        i -= 1
    if not above and i > 0 and lines[i - 1].strip() and (i in starts.values()):
        group_start = next(a for a, b in starts.items() if b == i)
        return _own_comment(lines, group_start, i, starts) + "\n" + "\n".join(text)
    return "\n".join(reversed(above)) + "\n" + "\n".join(text)


def _sources(path: Path) -> dict[str, str]:
    lines = path.read_text().splitlines()
    tree = ast.parse(path.read_text())
    starts = {n.lineno: n.end_lineno or n.lineno for n in tree.body
              if isinstance(n, ast.Assign | ast.AnnAssign)}
    # Comments read as prose: a phrase may break across comment lines.
    return {name: re.sub(r"\s*\n\s*#?\s*", " ", _own_comment(lines, a, b, starts))
            for name, a, b in _constants(path)}


MODULES = sorted(GAIT.glob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=[p.name for p in MODULES])
def test_every_threshold_names_its_source(path: Path) -> None:
    missing = [name for name, text in _sources(path).items()
               if name not in NOT_THRESHOLDS and not SOURCE.search(text)]
    assert not missing, f"{path.name}: no source for {missing}"


def test_the_check_catches_a_bare_constant(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("# cleaning\n\nSOME_LIMIT = 0.3\n\n# Sports2D drops under 0.3 (RF)\nOK = 0.3\n"
                   "GROUPED = 0.4\n# a comment without a source\nUNSOURCED = 1.0\n"
                   "TRAILING = 2  # StrideLab heuristic: why\n")
    flagged = [n for n, text in _sources(bad).items() if not SOURCE.search(text)]
    assert flagged == ["SOME_LIMIT", "UNSOURCED"]


def test_thresholds_module_has_constants_and_docs_list_departures() -> None:
    names = {n for n, _, _ in _constants(GAIT / "thresholds.py")}
    assert {"PELVIC_DROP", "STEP_WIDTH", "CADENCE", "MIN_STEPS", "VISIBILITY_MIN"} <= names
    docs = DOCS.read_text()
    # Every constant the thresholds module marks as a StrideLab heuristic is listed in the docs.
    for name, text in _sources(GAIT / "thresholds.py").items():
        if "StrideLab heuristic" in text:
            assert f"`{name}`" in docs, f"docs/gait.md does not list the departure {name}"


# Inline numbers: a decision number written into a function body escapes the check above. Numbers
# in comparisons and arithmetic inside functions must be named constants, except these: identity
# and halving (0, 1, 2, 0.5), unit conversions (60, 100, 1000), angle conventions (90, 180, 360)
# and numerical guards (tiny epsilons).
TRIVIAL = {0, 1, 2, 0.5, 60, 90, 100, 180, 360, 1000}
EPSILON_MAX = 1e-3
# Drawing (line widths, colours, layout) decides nothing about the runner.
NOT_DECISIONS = {"pictures.py"}


def _trivial(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return True
    return abs(value) in TRIVIAL or 0 < abs(value) <= EPSILON_MAX


def inline_numbers(source: str) -> list[tuple[int, float]]:
    """(line, value) of each non-trivial numeric literal that a function compares with or
    computes with."""
    tree = ast.parse(source)
    found: list[tuple[int, float]] = []

    def visit(node: ast.AST, in_function: bool, in_math: bool) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            in_function = True
        if isinstance(node, ast.Constant) and in_function and in_math \
                and not _trivial(node.value):
            found.append((node.lineno, node.value))  # type: ignore[arg-type]
        math_here = in_math or isinstance(node, ast.Compare | ast.BinOp | ast.UnaryOp
                                          | ast.AugAssign)
        # A call's arguments and a subscript's index start afresh: landmark indices, axes and
        # counts passed to numpy are not decisions (arithmetic inside them still counts).
        if isinstance(node, ast.Call | ast.Subscript):
            math_here = False
        for child in ast.iter_child_nodes(node):
            visit(child, in_function, math_here)

    visit(tree, False, False)
    return found


DECISION_MODULES = [p for p in MODULES if p.name not in NOT_DECISIONS]


@pytest.mark.parametrize("path", DECISION_MODULES, ids=[p.name for p in DECISION_MODULES])
def test_no_inline_decision_numbers(path: Path) -> None:
    found = inline_numbers(path.read_text())
    assert not found, f"{path.name}: numbers inline, name them in thresholds.py: {found}"


def test_the_inline_check_catches_numbers_in_comparisons_and_arithmetic() -> None:
    src = ("LIMIT = 0.7\n"
           "def f(x, y):\n"
           "    a = x * 0.4 + 2 * y / 1000\n"
           "    if 0.7 <= x <= 1.8 and y > LIMIT:\n"
           "        return max(4, x // 5)\n"
           "    return abs(x) > 1e-9 and x - 180 > 0.5\n")
    assert inline_numbers(src) == [(3, 0.4), (4, 0.7), (4, 1.8), (5, 5)]
