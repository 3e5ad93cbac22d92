"""The coach's dashboard and an athlete's trends at scale: 500 athletes with a year of
clips, plans, session logs and flags on PostgreSQL, read through the real app.

    eval "$(scripts/services.sh env)"
    .venv/bin/python bench/dashboard.py [--athletes 500] [--roster 50] [--requests 200]

Seeding is bulk inserts straight into the tables (not the HTTP API: a year of 500 athletes
through the API would take hours and measure the writes, not the reads): 10 coaches of 50
athletes each; per athlete a year of 6-week plan blocks (the planner's own plans, one
version per past block and three for the current one), 3 sessions a week logged at about
85 % with their set rows, a clip every two weeks (rear and side in turn, one in eight
unfit) with fault and metric rows, and flags (most resolved). The database is a fresh
PostgreSQL database on STRIDELAB_TEST_POSTGRES_URL's server, dropped afterwards.

Then, through the real ASGI app with httpx (a coach's and an athlete's bearer token, as the
phone sends them): the first dashboard request (nothing cached), then --requests dashboard
reads of the coach with --roster athletes (default sort, all on one page), and --requests
trends reads (a year) of athletes of that roster in turn; p50 and p95 of each. --explain
prints PostgreSQL's plans of the dashboard's statements.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import shlex
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import httpx  # noqa: E402
from sqlalchemy import event, insert, text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from backend import planner  # noqa: E402
from backend.accounts.models import User  # noqa: E402
from backend.api.app import create_app  # noqa: E402
from backend.clips.models import AnalysisReport, Clip, ClipFault, ClipMetric  # noqa: E402
from backend.coaching.models import CoachLink  # noqa: E402
from backend.core.config import Settings  # noqa: E402
from backend.core.db import make_engine  # noqa: E402
from backend.core.migrate import upgrade_database  # noqa: E402
from backend.core.security import hash_password  # noqa: E402
from backend.gait.catalogue import FAULT_CODES, SEVERITIES  # noqa: E402
from backend.jobs.models import AnalysisJob  # noqa: E402
from backend.jsonsafe import json_safe  # noqa: E402
from backend.training.models import (  # noqa: E402
    CoachFlagEntry,
    PlanVersion,
    SessionLogEntry,
    SetLogEntry,
)
from bench._common import fresh_postgres  # noqa: E402

PASSWORD = "bench-pass-phrase-0123"
ROSTER_PER_COACH = 50
METRICS = ("cadence_spm", "pelvic_drop_deg", "knee_valgus_deg", "trunk_lean_deg",
           "overstride_deg", "contact_time_ms", "flight_time_ms", "vertical_oscillation_cm")


def _report(clip: dict[str, Any]) -> dict[str, Any]:
    """The report JSON as the analysis writes it, as far as the diagnosis reads it."""
    return {"schema_version": "bench", "view": clip["view"],
            "clip_quality": {"fit": clip["fit"], "reasons": [] if clip["fit"] else
                             ["Too few running steps."]},
            "faults": [{"code": code, "severity": sev, "side": "left", "value": value,
                        "confidence": 0.8} for code, sev, value in clip["faults"]]}


def _at(day: date, hour: int = 7) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def _chunks(rows: list[dict[str, Any]], n: int = 5000) -> list[list[dict[str, Any]]]:
    return [rows[i:i + n] for i in range(0, len(rows), n)]


def _bulk(engine: Engine, table: Any, rows: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        for chunk in _chunks(rows):
            conn.execute(insert(table), chunk)


def seed(engine: Engine, athletes: int, today: date, rng: random.Random) -> dict[str, Any]:
    """Bulk rows for ``athletes`` athletes in rosters of 50; returns the ids and emails."""
    hashed = hash_password(PASSWORD)
    coaches = max(1, -(-athletes // ROSTER_PER_COACH))
    now = _at(today, 6)
    year_ago = today - timedelta(days=364)
    users = [{"email": f"coach{c}@bench.example", "hashed_password": hashed, "role": "coach",
              "display_name": f"Coach {c}", "time_zone": "UTC", "is_active": True,
              "created_at": _at(year_ago)} for c in range(coaches)]
    users += [{"email": f"athlete{a}@bench.example", "hashed_password": hashed,
               "role": "athlete", "display_name": f"Athlete {a:03d}", "time_zone": "UTC",
               "is_active": True, "created_at": _at(year_ago)} for a in range(athletes)]
    _bulk(engine, User.__table__, users)
    with engine.connect() as conn:
        ids = dict(conn.execute(text('SELECT email, id FROM "user"')).all())
    coach_ids = [ids[f"coach{c}@bench.example"] for c in range(coaches)]
    athlete_ids = [ids[f"athlete{a}@bench.example"] for a in range(athletes)]
    _bulk(engine, CoachLink.__table__, [
        {"coach_id": coach_ids[i // ROSTER_PER_COACH], "athlete_id": a,
         "created_at": _at(year_ago)} for i, a in enumerate(athlete_ids)])

    # The planner's real plans: one per block start, shared by every athlete (plan ids and
    # versions set per athlete), so the JSON read back is what production stores.
    first_monday = year_ago - timedelta(days=year_ago.weekday())
    starts = []
    start = first_monday
    while start <= today:
        starts.append(start)
        start += timedelta(weeks=6)
    templates = {s: json_safe(planner.generate_plan(
        planner.PlannerProfile(block_start=s), None, weeks=6, plan_id="template").to_dict())
        for s in starts}
    sessions = {s: [(ss.session_key, ss.date, [
        (p.code, p.level, t.side, t.reps, t.hold_s) for p in ss.exercises
        for t in p.set_targets()]) for ss in planner.Plan.from_dict(templates[s]).sessions]
        for s in starts}

    counts = dict.fromkeys(("plan_version", "session_log", "set_log", "clip", "clip_fault",
                            "clip_metric", "coach_flag"), 0)
    batch = 25  # athletes per insert batch: bounded memory for the plans' JSON
    for lo in range(0, len(athlete_ids), batch):
        plans: list[dict[str, Any]] = []
        logs: list[dict[str, Any]] = []
        clips: list[dict[str, Any]] = []
        flags: list[dict[str, Any]] = []
        for a in athlete_ids[lo:lo + batch]:
            diligence = rng.uniform(0.6, 1.0)
            for b, s in enumerate(starts):
                plan_id = f"a{a}-b{b + 1}-{s.isoformat()}"
                current = b == len(starts) - 1
                for v in range(1, 4 if current else 2):
                    data = dict(templates[s], plan_id=plan_id, version=v)
                    plans.append({"athlete_id": a, "plan_id": plan_id, "version": v,
                                  "kind": "generated" if v == 1 else "session_log",
                                  "reason": "Bench block.", "data": data,
                                  "created_at": _at(s - timedelta(days=2)) + timedelta(days=v),
                                  "created_by_id": None})
                for key, day, targets in sessions[s]:
                    if day >= today or rng.random() > diligence:
                        continue
                    pain = rng.choice((0, 0, 0, 0, 1, 2, 3, 5))
                    logs.append({"row": {
                        "athlete_id": a, "plan_id": plan_id, "session_key": key,
                        "plan_version": 1, "session_date": day, "logged_on": day,
                        "rpe": rng.randint(4, 9), "max_pain": pain, "data": {},
                        "created_at": _at(day, 19)}, "sets": [
                        {"athlete_id": a, "exercise_code": code, "level": level,
                         "set_index": i, "side": side, "target_reps": reps,
                         "done_reps": reps if reps is not None and rng.random() < 0.9
                         else (0 if reps is not None else None),
                         "target_hold_s": hold, "done_hold_s": hold, "pain": pain}
                        for i, (code, level, side, reps, hold) in enumerate(targets)]})
            for k in range(26):
                day = year_ago + timedelta(days=14 * k + rng.randint(0, 5))
                if day > today:
                    continue
                fit = rng.random() > 0.125
                view = "rear" if k % 2 == 0 else "side"
                faults = rng.sample(FAULT_CODES, rng.randint(0, 3)) if fit else []
                clips.append({"athlete_id": a, "day": day, "view": view, "fit": fit,
                              "faults": [(c, rng.choice(SEVERITIES), rng.uniform(3, 15))
                                         for c in faults]})
            for k in range(20):
                day = year_ago + timedelta(days=rng.randint(0, 364))
                resolved = k < 17
                flags.append({"athlete_id": a, "code": rng.choice(("pain", "missed")),
                              "message": "Bench flag.", "exercise_code": None,
                              "session_key": None, "plan_version": 1,
                              "created_at": _at(day, 20),
                              "resolved_at": _at(day + timedelta(days=3)) if resolved else None,
                              "acknowledged_at": _at(day + timedelta(days=1))
                              if resolved or k == 17 else None,
                              "acknowledged_by_id": None, "resolved_by_id": None})
        _bulk(engine, PlanVersion.__table__, plans)
        counts["plan_version"] += len(plans)
        with engine.begin() as conn:
            log_ids = conn.execute(insert(SessionLogEntry.__table__).returning(
                SessionLogEntry.__table__.c.id, sort_by_parameter_order=True),
                [entry["row"] for entry in logs]).scalars().all()
            set_rows = [dict(s, session_log_id=log_id)
                        for log_id, entry in zip(log_ids, logs, strict=True)
                        for s in entry["sets"]]
            for chunk in _chunks(set_rows):
                conn.execute(insert(SetLogEntry.__table__), chunk)
            counts["session_log"] += len(logs)
            counts["set_log"] += len(set_rows)
            clip_ids = conn.execute(insert(Clip.__table__).returning(
                Clip.__table__.c.id, sort_by_parameter_order=True), [
                {"athlete_id": c["athlete_id"], "sha256": secrets.token_hex(32),
                 "size_bytes": 5_000_000, "storage_key": "bench", "original_filename": None,
                 "content_type": "video/mp4", "view": c["view"], "recorded_at": _at(c["day"]),
                 "container": "mov,mp4", "codec": "h264", "duration_s": 10.0, "fps": 30.0,
                 "frame_count": 300, "width": 720, "height": 1280, "rotation": 0,
                 "created_at": _at(c["day"], 8)} for c in clips]).scalars().all()
            conn.execute(insert(AnalysisReport.__table__), [
                {"clip_id": cid, "athlete_id": c["athlete_id"], "schema_version": "bench",
                 "view": c["view"], "report": _report(c), "track_key": "bench",
                 "track_sha256": "x",
                 "keyframes": [], "fit": c["fit"], "unfit_reasons": [] if c["fit"] else
                 ["Too few running steps."], "advice": [], "slow_motion": False,
                 "needs_capture_fps": False, "created_at": _at(c["day"], 9)}
                for cid, c in zip(clip_ids, clips, strict=True)])
            # Each analysis's job succeeded (the diagnosis, hence the headline, reads only
            # those).
            conn.execute(insert(AnalysisJob.__table__), [
                {"clip_id": cid, "status": "succeeded", "attempts": 1, "progress": 1.0,
                 "created_at": _at(c["day"], 8), "updated_at": _at(c["day"], 9),
                 "finished_at": _at(c["day"], 9)}
                for cid, c in zip(clip_ids, clips, strict=True)])
            fault_rows = [{"athlete_id": c["athlete_id"], "clip_id": cid, "code": code,
                           "side": "left", "severity": sev, "value": value, "confidence": 0.8,
                           "recorded_at": _at(c["day"])}
                          for cid, c in zip(clip_ids, clips, strict=True)
                          for code, sev, value in c["faults"]]
            if fault_rows:
                conn.execute(insert(ClipFault.__table__), fault_rows)
            metric_rows = [{"athlete_id": c["athlete_id"], "clip_id": cid, "key": key,
                            "value": rng.uniform(1, 200) if c["fit"] else None, "left": None,
                            "right": None, "n_strides": 8, "unit": "x",
                            "withheld_reason": None if c["fit"] else "unfit clip",
                            "recorded_at": _at(c["day"])}
                           for cid, c in zip(clip_ids, clips, strict=True) for key in METRICS]
            for chunk in _chunks(metric_rows):
                conn.execute(insert(ClipMetric.__table__), chunk)
            conn.execute(insert(CoachFlagEntry.__table__), flags)
            counts["clip"] += len(clips)
            counts["clip_fault"] += len(fault_rows)
            counts["clip_metric"] += len(metric_rows)
            counts["coach_flag"] += len(flags)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    del now
    return {"coach_id": coach_ids[0], "coach_email": "coach0@bench.example",
            "athlete_ids": athlete_ids[:ROSTER_PER_COACH], "counts": counts}


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(app: Any, seeded: dict[str, Any], requests: int, roster: int,
                  ) -> dict[str, Any]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        async def token(email: str) -> dict[str, str]:
            resp = await client.post("/api/v1/auth/token",
                                     data={"username": email, "password": PASSWORD})
            resp.raise_for_status()
            return {"Authorization": f"Bearer {resp.json()['access_token']}"}

        coach = await token(seeded["coach_email"])
        params = {"limit": roster}
        t = time.perf_counter()
        first = await client.get("/api/v1/coach/dashboard", headers=coach, params=params)
        cold = (time.perf_counter() - t) * 1000
        first.raise_for_status()
        body = first.json()
        assert body["total"] == roster and len(body["athletes"]) == roster, body["total"]
        dash = []
        for _ in range(requests):
            t = time.perf_counter()
            resp = await client.get("/api/v1/coach/dashboard", headers=coach, params=params)
            dash.append((time.perf_counter() - t) * 1000)
            resp.raise_for_status()
        trend = []
        athletes = seeded["athlete_ids"]
        for i in range(requests):
            a = athletes[i % len(athletes)]
            t = time.perf_counter()
            resp = await client.get(f"/api/v1/athletes/{a}/trends", headers=coach,
                                    params={"weeks": 52})
            trend.append((time.perf_counter() - t) * 1000)
            resp.raise_for_status()
        attention: dict[str, int] = {}
        for row in body["athletes"]:
            for reason in row["attention"]:
                attention[reason["code"]] = attention.get(reason["code"], 0) + 1
        # Every athlete has fit clips: each row must carry the diagnosis's headline.
        headlines = sum(1 for row in body["athletes"] if row["headline"])
        if headlines != len(body["athletes"]):
            raise SystemExit(f"only {headlines} of {len(body['athletes'])} rows have a headline")
        return {"cold_ms": cold, "dashboard": dash, "trends": trend, "attention": attention,
                "trend_points": len(resp.json()["clips"]),
                "headline": body["athletes"][0]["headline"]}


def explain(engine: Engine, app: Any, seeded: dict[str, Any]) -> None:
    """PostgreSQL's plans of the dashboard's statements."""
    statements: list[tuple[str, Any]] = []

    def keep(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    async def once() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            resp = await client.post("/api/v1/auth/token", data={
                "username": seeded["coach_email"], "password": PASSWORD})
            headers = {"Authorization": f"Bearer {resp.json()['access_token']}"}
            event.listen(engine, "before_cursor_execute", keep)
            try:
                await client.get("/api/v1/coach/dashboard", headers=headers)
            finally:
                event.remove(engine, "before_cursor_execute", keep)

    asyncio.run(once())
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for statement, parameters in statements:
            cursor.execute("EXPLAIN ANALYZE " + statement, parameters)
            plan = [row[0] for row in cursor.fetchall()]
            print("\n" + " ".join(statement.split())[:160] + " ...")
            print("\n".join("   " + line for line in plan))
    finally:
        raw.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--athletes", type=int, default=500)
    parser.add_argument("--roster", type=int, default=ROSTER_PER_COACH,
                        help="athletes of the measured coach (at most 50)")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()
    print("$", shlex.join([Path(sys.executable).name, *sys.argv]), flush=True)
    rng = random.Random(args.seed)
    today = datetime.now(UTC).date()
    with fresh_postgres("stridelab_bench") as url:
        upgrade_database(url)
        engine = make_engine(url)
        t = time.perf_counter()
        seeded = seed(engine, args.athletes, today, rng)
        seconds = time.perf_counter() - t
        print(f"seeded in {seconds:.0f} s: {args.athletes} athletes, "
              + ", ".join(f"{v} {k}" for k, v in seeded["counts"].items()), flush=True)
        seeded["athlete_ids"] = seeded["athlete_ids"][:args.roster]
        with tempfile.TemporaryDirectory(prefix="stridelab-bench-") as tmp:
            settings = Settings(environment="development", data_dir=Path(tmp) / "data",
                                database_url=url, secret_key=secrets.token_urlsafe(48))
            app = create_app(settings, engine)
            result = asyncio.run(measure(app, seeded, args.requests, args.roster))
            if args.explain:
                explain(engine, app, seeded)
        engine.dispose()
    dash, trend = result["dashboard"], result["trends"]
    print(f"\n{os.cpu_count()} CPU cores; PostgreSQL; {args.requests} requests each, "
          "through the ASGI app (httpx)")
    print(f"dashboard, coach with {args.roster} athletes: first request {result['cold_ms']:.0f} "
          f"ms (nothing cached); p50 {statistics.median(dash):.1f} ms, "
          f"p95 {_pct(dash, 0.95):.1f} ms, max {max(dash):.1f} ms")
    print(f"trends, one athlete, 52 weeks ({result['trend_points']} fit clips): "
          f"p50 {statistics.median(trend):.1f} ms, p95 {_pct(trend, 0.95):.1f} ms, "
          f"max {max(trend):.1f} ms")
    print("needs attention on the roster:", result["attention"])
    print("a headline:", result["headline"])


if __name__ == "__main__":
    main()
