"""The re-test loop and the coach's working screens in Debian's Chromium at phone size, against a
real server with real clips analysed once for the module: an athlete's history (each fault's
first and latest measure, a refused clip with why), the coach's flags acknowledged and resolved
(the roster's count follows), trends with real points, effort and pain by week, two clips side
by side, plan edits and notes; the slow-motion question, the calendar link on the plan screen,
the iPhone's Add to Home Screen step and the empty states."""

from __future__ import annotations

import gzip
import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.web.test_app import CLIPS, PASSWORD, PHONE_CONTEXT, axe_violations, screen

pytestmark = pytest.mark.slow

IPHONE_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
             "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")


@dataclass
class World:
    base: str
    athlete_id: int
    athlete: dict[str, str]  # the athlete's Authorization header
    coach: dict[str, str]
    before_clip: int  # side view, dated four weeks ago
    after_clip: int  # side view, today (a slow-motion clip whose frame rate is unknown)
    refused_clip: int


def _account(c: httpx.Client, email: str, name: str, role: str) -> tuple[int, dict[str, str]]:
    r = c.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD,
                                              "display_name": name, "role": role})
    assert r.status_code == 201, r.text
    token = c.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
    return int(r.json()["id"]), {"Authorization": f"Bearer {token.json()['access_token']}"}


def _upload(c: httpx.Client, auth: dict[str, str], name: str, **fields: str) -> int:
    with (CLIPS / name).open("rb") as f:
        r = c.post("/api/v1/clips", headers=auth, data={"view": "side", **fields},
                   files={"file": (name, f)})
    assert r.status_code == 202, r.text
    return int(r.json()["id"])


def _wait(c: httpx.Client, auth: dict[str, str], *ids: int) -> None:
    deadline = time.monotonic() + 240
    for clip_id in ids:
        while (clip := c.get(f"/api/v1/clips/{clip_id}", headers=auth).json())["status"] not in (
                "succeeded", "failed"):
            assert time.monotonic() < deadline, f"clip {clip_id} still {clip['status']}"
            time.sleep(0.5)
        assert clip["status"] == "succeeded", clip


@pytest.fixture(scope="module")
def world(server: str) -> World:
    """One athlete with two analysed side clips four weeks apart and one refused clip, a session
    logged today with effort 7 and pain 5 (a pain flag), and their coach. Through the real API:
    the browser tests below then only read and act."""
    for name in ("side_treadmill_barefoot.mov", "side_treadmill_slowmo.mp4",
                 "side_treadmill_feet_cut.mp4"):
        assert (CLIPS / name).exists(), f"the test clip is missing: {CLIPS / name}"
    c = httpx.Client(base_url=server, timeout=60)
    athlete_id, athlete = _account(c, "hana@example.com", "Hana Runner", "athlete")
    today = datetime.now(UTC)
    # A strength day today, so the session logged below is due and counts in this week.
    r = c.put("/api/v1/users/me/profile", headers=athlete, json={
        "running_background": "intermediate", "weekly_volume_km": 30, "injuries": [],
        "equipment": ["none"],
        "strength_days": sorted({today.weekday(), (today.weekday() + 3) % 7}),
        "time_zone": "UTC", "complete": True})
    assert r.status_code == 200, r.text
    before = _upload(c, athlete, "side_treadmill_barefoot.mov",
                     recorded_at=(today - timedelta(days=28)).isoformat())
    _wait(c, athlete, before)  # the plan is built from it
    after = _upload(c, athlete, "side_treadmill_slowmo.mp4")
    refused = _upload(c, athlete, "side_treadmill_feet_cut.mp4")
    _wait(c, athlete, after, refused)

    plan = c.get("/api/v1/plans/current", headers=athlete).json()
    due = next(s for w in plan["weeks"] for s in w["sessions"]
               if s["date"] == today.date().isoformat())
    exercises = [{"code": x["code"], "pain": 5 if i == 0 else 0,
                  "sets": [{"reps": x["reps"]} if x["reps"] else {"hold_s": x["hold_s"]}]
                  * x["sets"]} for i, x in enumerate(due["exercises"])]
    r = c.post(f"/api/v1/sessions/{due['id']}/log", headers=athlete,
               json={"rpe": 7, "exercises": exercises})
    assert r.status_code == 200, r.text

    _, coach = _account(c, "coach.kim@example.com", "Coach Kim", "coach")
    code = c.post("/api/v1/coach/invites", headers=coach).json()["code"]
    assert c.post(f"/api/v1/invites/{code}/accept", headers=athlete).status_code == 200
    return World(server, athlete_id, athlete, coach, before, after, refused)


def _open_as(browser: Browser, base: str, auth: dict[str, str], path: str,
             **context: Any) -> tuple[BrowserContext, Page, list[str]]:
    """A phone-size page logged in with the account's token (the login screen is tested in
    test_app.py), at `path`; page errors are collected."""
    ctx = browser.new_context(**{**PHONE_CONTEXT, **context})
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    token = auth["Authorization"].removeprefix("Bearer ")
    page.goto(base + "/")
    page.evaluate("t => localStorage.setItem('stridelab.tokens', JSON.stringify("
                  "{access_token: t, refresh_token: ''}))", token)
    page.goto(base + path)
    return ctx, page, errors


def _open_flags(w: World) -> list[dict[str, Any]]:
    r = httpx.get(f"{w.base}/api/v1/coach/athletes/{w.athlete_id}/flags", headers=w.coach)
    assert r.status_code == 200, r.text
    flags: list[dict[str, Any]] = r.json()
    return flags


def test_history_shows_each_fault_before_and_after_and_the_refused_clip(
        world: World, browser: Browser, artifacts: Path) -> None:
    ctx, page, errors = _open_as(browser, world.base, world.athlete, "/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="History").click()
    expect(page.get_by_role("heading", name="Your history")).to_be_visible()
    table = page.get_by_role("table")
    expect(table).to_be_visible()

    # Every fault and side the trends measured gets a row: its first and latest measures.
    trends = httpx.get(f"{world.base}/api/v1/athletes/{world.athlete_id}/trends",
                       headers=world.athlete).json()
    assert [c["clip_id"] for c in trends["clips"]] == [world.before_clip, world.after_clip]
    first_seen = {(f["title"], p["side"]): p for f in trends["faults"] for p in f["points"][:1]}
    latest = {(f["title"], p["side"]): p for f in trends["faults"] for p in f["points"]
              if p["clip_id"] == world.after_clip}
    assert first_seen, "the real clips show at least one fault"
    # Where the plan's re-test compares the same measures, its verdict (which knows the
    # measurement's smallest detectable change) is the one shown; elsewhere the severity's.
    retest = httpx.get(f"{world.base}/api/v1/plans/current/retest", headers=world.athlete).json()
    words = {"grew": "Worse", "shrank": "Improved", "gone": "Gone",
             "no_detectable_change": "No measurable change"}
    by_retest = {(f["label"].lower(), f["side"]): f for f in retest["faults"]
                 if f["outcome"] in words}
    severities = ["mild", "moderate", "marked"]
    for (title, side), first in first_seen.items():
        name = f"{title} ({side})" if side else title
        row = table.get_by_role("row", name=name)  # a substring, any case
        expect(row).to_be_visible()
        expect(row).to_contain_text(first["severity"])
        now = latest.get((title, side))
        if first["clip_id"] != world.before_clip:
            expect(row).to_contain_text("film again to compare")
        elif now is None:
            expect(row).to_contain_text("Gone")
        elif (r := by_retest.get((title.lower(), side))) is not None:
            expect(row).to_contain_text(now["severity"])
            expect(row).to_contain_text(words[r["outcome"]])
            expect(page.get_by_text(r["summary"])).to_be_visible()
        else:
            expect(row).to_contain_text(now["severity"])
            change = severities.index(now["severity"]) - severities.index(first["severity"])
            expect(row).to_contain_text(
                "Worse" if change > 0 else "Improved" if change < 0 else "Same severity")

    # The clips over time: the refused one says so, why, and how to film again.
    refused = page.locator("li.card").filter(has_text="side_treadmill_feet_cut")
    expect(refused).to_contain_text("Refused")
    reasons = httpx.get(f"{world.base}/api/v1/clips/{world.refused_clip}",
                        headers=world.athlete).json()
    for reason in reasons["unfit_reasons"]:
        expect(refused).to_contain_text(reason)
    expect(refused.get_by_text("How to film again")).to_be_visible()
    expect(refused.get_by_role("link", name="Film again")).to_be_visible()
    for name in ("side_treadmill_barefoot", "side_treadmill_slowmo"):
        expect(page.locator("li.card").filter(has_text=name)).to_contain_text("Report ready")
    screen(page, artifacts, "12-history")
    assert errors == []
    ctx.close()


def test_coach_acknowledges_and_resolves_flags_and_the_roster_count_follows(
        world: World, browser: Browser, artifacts: Path) -> None:
    flags = _open_flags(world)
    codes = {f["code"] for f in flags}
    assert "pain" in codes, flags  # pain 5/10 in today's session
    ctx, page, errors = _open_as(browser, world.base, world.coach, "/")
    row = page.get_by_role("row", name=re.compile("Hana Runner"))
    expect(row.locator("td").nth(1)).to_have_text(str(len(flags)))
    row.get_by_role("link", name="Hana Runner").click()
    expect(page.get_by_role("heading", name="Hana Runner")).to_be_visible()

    card = page.locator(".card").filter(has=page.get_by_role("heading", name="Flags"))
    pain = next(f for f in flags if f["code"] == "pain")
    item = card.locator("li.flag").filter(has_text=pain["message"])
    expect(item).to_contain_text("new")
    item.get_by_role("button", name="Mark as seen").click()
    expect(card.get_by_role("status")).to_contain_text("Marked as seen")
    expect(item).to_contain_text("seen")
    expect(item.get_by_role("button", name="Mark as seen")).to_have_count(0)
    seen = next(f for f in _open_flags(world) if f["id"] == pain["id"])
    assert seen["acknowledged_at"] and seen["resolved_at"] is None  # seen, still open
    screen(page, artifacts, "13-coach-flags")

    item.get_by_role("button", name="Resolve").click()
    expect(card.get_by_role("status")).to_contain_text("Resolved")
    expect(card.locator("li.flag").filter(has_text=pain["message"])).to_have_count(0)
    assert pain["id"] not in {f["id"] for f in _open_flags(world)}

    # Back on the roster, the open count is one less.
    page.get_by_role("link", name="All athletes").click()
    row = page.get_by_role("row", name=re.compile("Hana Runner"))
    expect(row.locator("td").nth(1)).to_have_text(str(len(flags) - 1))
    # Someone else's (or no) athlete: the server's reason, not a blank page.
    page.goto(f"{world.base}/athletes/999999")
    expect(page.get_by_role("alert")).to_contain_text("No such athlete")
    assert errors == []
    ctx.close()


def test_coach_athlete_page_trends_training_clips_side_by_side_plan_edits_and_notes(
        world: World, browser: Browser, artifacts: Path) -> None:
    ctx, page, errors = _open_as(browser, world.base, world.coach, f"/athletes/{world.athlete_id}")
    expect(page.get_by_role("heading", name="Hana Runner")).to_be_visible()

    # Fault trends: a chart per fault and side, with both analysed clips' points.
    trends = httpx.get(f"{world.base}/api/v1/athletes/{world.athlete_id}/trends",
                       headers=world.coach).json()
    twice = [(f["title"], side) for f in trends["faults"]
             for side in {p["side"] for p in f["points"]}
             if len({p["clip_id"] for p in f["points"] if p["side"] == side}) == 2]
    assert twice, "a fault measured in both clips"
    title, side = twice[0]
    label = f"{title} ({side})" if side else title
    chart = page.locator("figure.trend").filter(has_text=label)
    expect(chart).to_contain_text("2 clips")
    expect(chart.locator("canvas")).to_have_count(1, timeout=10_000)
    values = [p["value"] for f in trends["faults"] if f["title"] == title
              for p in f["points"] if p["side"] == side]
    aria = chart.get_by_role("img").get_attribute("aria-label") or ""
    for v in values:
        assert f"{v:.2f}" in aria, (v, aria)

    # Effort and pain by week: this week's logged session, effort 7 and pain 5.
    training = page.get_by_role("region", name="Training history table")
    expect(training).to_contain_text("7.0/10")
    expect(training).to_contain_text("5/10")
    expect(training).to_contain_text("1/1")

    # Two clips side by side: the oldest and the newest by default, each with its overlay
    # video and a key frame; the refused clip is listed with its reason.
    clips_card = page.locator(".card").filter(has=page.get_by_role("heading", name="Clips"))
    expect(clips_card).to_contain_text("refused")
    panels = page.locator("figure.clip-panel")
    expect(panels).to_have_count(2)
    for i in range(2):
        expect(panels.nth(i).locator("video")).to_have_attribute("src", re.compile("^blob:"),
                                                                 timeout=30_000)
        expect(panels.nth(i).locator("img.keyframe")).to_be_visible(timeout=30_000)
    assert page.get_by_label("Left", exact=True).input_value() == str(world.before_clip)
    assert page.get_by_label("Right", exact=True).input_value() == str(world.after_clip)
    page.get_by_label("Left", exact=True).select_option(str(world.after_clip))
    expect(panels.first.locator("figcaption")).to_have_text(
        panels.nth(1).locator("figcaption").inner_text())
    screen(page, artifacts, "14-coach-athlete-page")

    # Plan edits: a swap, a level and a cue, each a new plan version with its reason.
    def version() -> int:
        r = httpx.get(f"{world.base}/api/v1/coach/athletes/{world.athlete_id}/plan",
                      headers=world.coach)
        return int(r.json()["version"])

    start = version()
    to_name = page.get_by_label("With", exact=True).locator("option").first.inner_text()
    page.get_by_role("button", name="Swap").click()
    saved = page.get_by_role("status").filter(has_text="Saved:")
    expect(saved).to_be_visible()
    assert version() == start + 1
    plan = httpx.get(f"{world.base}/api/v1/coach/athletes/{world.athlete_id}/plan",
                     headers=world.coach).json()
    assert to_name in {x["name"] for w in plan["weeks"] for s in w["sessions"]
                       for x in s["exercises"]}
    before = saved.inner_text()
    page.get_by_label("New level").select_option("2")
    page.get_by_role("button", name="Change level").click()
    expect(saved).not_to_have_text(before)
    assert version() == start + 2
    page.get_by_label("Cue", exact=True).fill("Quiet feet, quick turnover")
    page.get_by_role("button", name="Add cue").click()
    expect(saved).to_contain_text("Quiet feet")
    assert version() == start + 3

    # Notes: added, listed, and on the athlete's plan screen.
    page.get_by_label("Note for Hana Runner").fill("Film again from behind next week")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("ul.notes")).to_contain_text("Film again from behind next week")
    expect(page.locator("ul.notes")).to_contain_text("Coach Kim")
    # A note added by mistake is deleted (DELETE .../plan/notes/{note_id}).
    page.get_by_label("Note for Hana Runner").fill("Wrong athlete, sorry")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("ul.notes")).to_contain_text("Wrong athlete, sorry")
    page.get_by_role("button", name="Delete the note: Wrong athlete, sorry").click()
    expect(page.locator("ul.notes")).not_to_contain_text("Wrong athlete, sorry")
    expect(page.locator("ul.notes")).to_contain_text("Film again from behind next week")
    notes = httpx.get(f"{world.base}/api/v1/coach/athletes/{world.athlete_id}/plan",
                      headers=world.coach).json()["notes"]
    assert [n["text"] for n in notes] == ["Film again from behind next week"]
    assert errors == []
    ctx.close()

    ctx, page, errors = _open_as(browser, world.base, world.athlete, "/plan")
    from_coach = page.locator(".card").filter(
        has=page.get_by_role("heading", name="From your coach"))
    expect(from_coach).to_contain_text("Film again from behind next week")
    # The calendar-feed link is on the plan screen too.
    page.get_by_role("button", name="Get the calendar link").click()
    feed = page.get_by_label(re.compile("Calendar feed link")).input_value()
    assert httpx.get(feed).text.startswith("BEGIN:VCALENDAR")
    assert errors == []
    ctx.close()


def test_empty_history_and_iphone_asks_for_the_home_screen_before_notifications(
        world: World, browser: Browser, artifacts: Path) -> None:
    c = httpx.Client(base_url=world.base, timeout=30)
    _, fresh = _account(c, "new.runner@example.com", "New Runner", "athlete")
    ctx, page, errors = _open_as(browser, world.base, fresh, "/history", user_agent=IPHONE_UA)
    expect(page.get_by_role("heading", name="Your history")).to_be_visible()
    expect(page.get_by_text("No clips yet.")).to_be_visible()
    expect(page.get_by_role("main").get_by_role("link", name="Film a clip")).to_be_visible()
    screen(page, artifacts, "15-history-empty")
    # On an iPhone outside the Home Screen app Web Push cannot work: the app asks for the Home
    # Screen first and offers no notification permission yet.
    page.get_by_role("link", name="Home").click()
    reminders = page.locator(".card").filter(has=page.get_by_role("heading", name="Reminders"))
    expect(reminders).to_contain_text("Add to Home Screen")
    expect(reminders.get_by_role("button")).to_have_count(0)
    assert errors == []
    ctx.close()


def test_first_screen_script_stays_small(server: str, browser: Browser, artifacts: Path) -> None:
    """What a phone downloads before the first screen shows: the entry chunk and whatever it
    imports at once, measured gzip-compressed (as a CDN or a compressing proxy would serve it).
    The upload library and the charts load only when used. Figures go to js-size.json (quoted
    in docs/architecture.md)."""
    ctx = browser.new_context(**PHONE_CONTEXT, service_workers="block")
    page = ctx.new_page()
    scripts: list[str] = []
    page.on("response", lambda r: scripts.append(r.url)
            if r.request.resource_type == "script" else None)
    page.goto(server + "/")
    expect(page.get_by_role("heading", name="Create your account")).to_be_visible()
    page.wait_for_load_state("networkidle")
    ctx.close()
    sizes = {}
    for url in scripts:
        body = httpx.get(url).content
        sizes[url.removeprefix(server)] = {"bytes": len(body), "gzip": len(gzip.compress(body, 9))}
    entry = [u for u in sizes if re.fullmatch(r"/assets/index-[\w-]+\.js", u)]
    assert len(entry) == 1, sizes
    total_gzip = sum(v["gzip"] for v in sizes.values())
    (artifacts / "js-size.json").write_text(json.dumps(
        {"entry": entry[0], "scripts": sizes, "total_gzip": total_gzip}, indent=1))
    assert not any("uPlot" in u or "tus" in u or "browser-" in u for u in sizes), sizes
    # 27.6 kB measured (December 2026); 39.8 kB before tus-js-client left the entry.
    assert total_gzip < 32_000, sizes


def test_slow_motion_clip_asks_for_its_frame_rate_and_is_analysed_again(
        world: World, browser: Browser, artifacts: Path) -> None:
    """Last in the module: the answer starts a new analysis of the 'after' clip."""
    ctx, page, errors = _open_as(browser, world.base, world.athlete, f"/clips/{world.after_clip}")
    expect(page.get_by_role("heading", name="Your report")).to_be_visible(timeout=30_000)
    ask = page.get_by_role("heading", name="Was this filmed in slow motion?")
    expect(ask).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert axe_violations(page) == []
    page.get_by_label("Frames per second when filmed").select_option("120")
    page.get_by_role("button", name="Analyse again").click()
    expect(ask).to_have_count(0)
    clip = httpx.get(f"{world.base}/api/v1/clips/{world.after_clip}", headers=world.athlete).json()
    assert clip["capture_fps"] == 120
    _wait(httpx.Client(base_url=world.base, timeout=30), world.athlete, world.after_clip)
    assert errors == []
    ctx.close()
