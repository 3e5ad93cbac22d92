"""Shared fixtures: synthetic runners are generated and analysed once per session."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from backend.gait import Report, analyze
from tests.gait.synthetic import Synthetic, make_runner

Runner = Callable[..., tuple[Synthetic, Report]]


@pytest.fixture(scope="session")
def runner() -> Runner:
    """``runner(view, **params) -> (synthetic, report)``, cached by arguments."""
    cache: dict[tuple[Any, ...], tuple[Synthetic, Report]] = {}

    def get(view: str, **params: Any) -> tuple[Synthetic, Report]:
        key = (view, tuple(sorted(params.items())))
        if key not in cache:
            s = make_runner(**params)
            cache[key] = (s, analyze(s.track, view))
        return cache[key]

    return get
