"""The dashboard's definitions as pure functions: compliance with nothing due, a fault that
got worse."""

from __future__ import annotations

from datetime import date, timedelta

from backend.progress.service import (
    BlockSessions,
    FaultRow,
    LoggedSession,
    Prescribed,
    compliance_between,
    worse_faults,
)

MONDAY = date(2026, 11, 2)


def _block(plan_id: str, start: date, days: list[int], sets: int = 10) -> BlockSessions:
    return BlockSessions(plan_id, start, tuple(
        Prescribed(f"s{d}", start + timedelta(days=d), sets) for d in days))


def _log(plan_id: str, day: int, done: int) -> LoggedSession:
    return LoggedSession(1, plan_id, f"s{day}", MONDAY + timedelta(days=day), 6, 0, done)


def test_nothing_due_is_null_not_full() -> None:
    window = compliance_between([], [], MONDAY, MONDAY + timedelta(days=6), MONDAY)
    assert window.value is None and window.sessions_due == 0
    # A block whose sessions all lie after the window: still nothing due.
    later = _block("b1", MONDAY + timedelta(days=14), [0, 2])
    window = compliance_between([later], [], MONDAY, MONDAY + timedelta(days=6), MONDAY)
    assert window.value is None and window.sessions_due == 0


def test_sets_done_over_prescribed_capped_per_session() -> None:
    block = _block("b1", MONDAY, [0, 2, 4])
    logs = [_log("b1", 0, 10), _log("b1", 2, 25)]  # extra sets do not hide a missed session
    today = MONDAY + timedelta(days=6)
    window = compliance_between([block], logs, MONDAY, today, today)
    assert window.sessions_due == 3
    assert window.value == 20 / 30


def test_today_counts_only_once_logged() -> None:
    block = _block("b1", MONDAY, [0, 2])
    today = MONDAY + timedelta(days=2)
    assert compliance_between([block], [_log("b1", 0, 10)], MONDAY, today, today
                              ).sessions_due == 1
    logged = compliance_between([block], [_log("b1", 0, 10), _log("b1", 2, 5)], MONDAY, today,
                                today)
    assert logged.sessions_due == 2 and logged.value == 15 / 20


def test_a_newer_block_cuts_the_older_one() -> None:
    old = _block("b1", MONDAY, [0, 2, 4, 7, 9])
    new = _block("b2", MONDAY + timedelta(days=7), [0, 2])
    today = MONDAY + timedelta(days=10)
    window = compliance_between([old, new], [_log("b1", 0, 10)], MONDAY, today, today)
    # b1's sessions from day 7 on are replaced by b2's, not missed twice.
    assert window.sessions_due == 5


def test_worse_fault_new_higher_severity_or_value() -> None:
    before = [FaultRow("hip_drop", "left", "mild", 5.0),
              FaultRow("overstride", None, "moderate", 10.0),
              FaultRow("low_cadence", None, "mild", 160.0)]
    assert worse_faults(before, before) == []
    latest = [FaultRow("hip_drop", "left", "moderate", 6.0),
              FaultRow("overstride", None, "moderate", 13.0),
              FaultRow("low_cadence", None, "mild", 150.0),
              FaultRow("trunk_lean", None, "mild", 8.0)]
    assert worse_faults(latest, before) == [
        "Contralateral hip drop went from mild to moderate",
        "Overstride measured 10 then 13",  # +30 %: past the 25 % margin
        "Trunk lean is new (mild)",
    ]
    # Cadence is better higher: 160 -> 150 is only -6 %, and 160 -> 200 is no worse at all.
    assert not worse_faults([FaultRow("low_cadence", None, "mild", 200.0)],
                            [FaultRow("low_cadence", None, "mild", 160.0)])
    assert worse_faults([FaultRow("low_cadence", None, "mild", 110.0)],
                        [FaultRow("low_cadence", None, "mild", 160.0)])
    # Better: a fault gone, or a lower severity.
    assert worse_faults([FaultRow("hip_drop", "left", "mild", 4.0)],
                        [FaultRow("hip_drop", "left", "marked", 12.0)]) == []
