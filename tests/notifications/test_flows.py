"""The flows deliver: a finished analysis lands in the athlete's and the coach's feeds, and the
coach digest reads who needs attention from the real dashboard."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session

from backend import flows
from backend.accounts.models import User
from backend.clips.events import AnalysisFinished
from backend.core import events
from backend.core.config import Settings
from tests.clips.seed import seed_analysed_clip
from tests.conftest import Accounts


async def test_an_analysis_reaches_both_feeds_and_the_digest_reads_the_dashboard(
        client: httpx.AsyncClient, accounts: Accounts, engine: Engine, settings: Settings,
        tmp_path: Path) -> None:
    flows.install()
    athlete = await accounts.register("athlete", name="Ana")
    coach = await accounts.register("coach", name="Carla")
    code = (await client.post("/api/v1/coach/invites", headers=coach["headers"])).json()["code"]
    await client.post(f"/api/v1/invites/{code}/accept", headers=athlete["headers"])
    ben = await accounts.register("athlete", name="Ben")
    code = (await client.post("/api/v1/coach/invites", headers=coach["headers"])).json()["code"]
    await client.post(f"/api/v1/invites/{code}/accept", headers=ben["headers"])
    seeded = seed_analysed_clip(engine, settings, int(athlete["id"]), tmp_path)
    report = {"schema_version": "seed", "view": "rear", "faults": [], "metrics": {},
              "summary": ["Rear view.", "Cadence 170 steps/min over 8 steps.",
                          "No fault crosses its threshold in this view."]}
    with Session(engine) as session:
        events.publish(AnalysisFinished(session=session, athlete_id=int(athlete["id"]),
                                        clip_id=seeded.clip_id, report=report,
                                        recorded_at=date.today()))
        session.commit()
    mine = (await client.get("/api/v1/notifications", headers=athlete["headers"])).json()
    assert [n["title"] for n in mine["items"]] == ["Your running analysis is ready"]
    assert mine["items"][0]["body"].startswith("Cadence 170 steps/min")
    theirs = (await client.get("/api/v1/notifications", headers=coach["headers"])).json()
    assert [n["title"] for n in theirs["items"]] == ["Ana filmed a clip"]
    with Session(engine) as session:
        carla = session.get(User, coach["id"])
        assert carla is not None
        rows = flows.attention_of_roster(session, carla)
    # The dashboard's own reasons for Ana (whatever they are today), by name.
    # Ana filmed today; Ben never did: he is the one to look at.
    assert [name for name, _ in rows] == ["Ben"]
    assert any("clip" in reason for reason in rows[0][1]), rows
