"""The athlete's and the coach's paths through the web app, in Debian's Chromium at phone size
(390x844) against a real server: sign up, onboarding, a real clip uploaded (tus, through the
IndexedDB queue) and analysed (progress over server-sent events), the report, the plan, a
session ticked off with effort and pain; a coach's invite, the roster and the athlete's page.
Screenshots of each main screen go to var/test-artifacts/; axe-core checks each of them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.web.conftest import FRONTEND, PHONE

CLIPS = Path(__file__).resolve().parents[2].parent / "shared" / "clips" / "running"
CLIP = CLIPS / "side_treadmill_barefoot.mov"
AXE = FRONTEND / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "long-enough-password-42"
PHONE_CONTEXT: dict[str, Any] = {"viewport": PHONE, "device_scale_factor": 1,
                                 "is_mobile": True, "has_touch": True}

pytestmark = pytest.mark.slow


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Runs axe-core inside the page (evaluated over the DevTools protocol, so the app's CSP,
    which forbids injected scripts, stays as it is) and returns serious/critical violations."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    result: dict[str, Any] = page.evaluate(
        "() => window.axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"],
         "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"] if v["impact"] in ("serious", "critical")
    ]


def screen(page: Page, artifacts: Path, name: str) -> None:
    """A phone-size screenshot of a main screen, and no serious accessibility violation on it."""
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)
    violations = axe_violations(page)
    assert violations == [], f"{name}: {json.dumps(violations, indent=1)}"


def sign_up(page: Page, base: str, name: str, email: str, role: str) -> None:
    page.goto(base + "/")
    expect(page.get_by_role("heading", name="Create your account")).to_be_visible()
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("a coach" if role == "coach" else "a runner").check()
    page.get_by_role("button", name="Sign up").click()


def test_athlete_and_coach_paths(server: str, browser: Browser, artifacts: Path) -> None:
    assert CLIP.exists(), f"the test clip is missing: {CLIP}"
    athlete_ctx = browser.new_context(**PHONE_CONTEXT)
    page = athlete_ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    # Sign up: the first screen, and a wrong password shows the server's message.
    page.goto(server + "/")
    screen(page, artifacts, "01-sign-up")
    sign_up(page, server, "Ada Runner", "ada@example.com", "athlete")

    # Onboarding.
    expect(page.get_by_role("heading", name="About your running")).to_be_visible()
    screen(page, artifacts, "02-onboarding")
    page.get_by_label("Kilometres per week").fill("30")
    page.get_by_role("button", name="Save and continue").click()

    # The filming guide, then a real clip through the upload queue.
    expect(page.get_by_role("heading", name="Film your running")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("Framing"))).to_be_visible()
    screen(page, artifacts, "03-filming-guide")
    page.get_by_label("Where is the camera?").select_option("side")
    file_input = page.get_by_label("Record or choose a clip")
    assert file_input.get_attribute("accept") == "video/*"
    assert file_input.get_attribute("capture") == "environment"
    file_input.set_input_files(str(CLIP))

    # Progress while it is analysed (server-sent events), then the report.
    page.wait_for_url(re.compile(r"/clips/\d+$"), timeout=60_000)
    clip_id = int(page.url.rsplit("/", 1)[1])
    progress = page.get_by_role("progressbar", name="Analysis progress")
    report_heading = page.get_by_role("heading", name="Your report")
    expect(progress.or_(report_heading)).to_be_visible()
    if progress.is_visible():
        page.screenshot(path=str(artifacts / "04-analysing.png"), full_page=True)
        assert axe_violations(page) == []
    expect(report_heading).to_be_visible(timeout=180_000)
    expect(page.get_by_role("table")).to_be_visible()
    expect(page.locator("video")).to_be_visible(timeout=30_000)
    cards = page.locator("article.fault")
    for i in range(cards.count()):
        text = cards.nth(i).inner_text()
        assert "Severity:" in text and "Confidence" in text and "Evidence:" in text, text
    screen(page, artifacts, "05-report")

    # The upload left one clip and one finished queue item (no duplicate).
    token = page.evaluate("() => JSON.parse(localStorage.getItem('stridelab.tokens')).access_token")
    auth = {"Authorization": f"Bearer {token}"}
    clips = httpx.get(f"{server}/api/v1/clips", headers=auth).json()["items"]
    assert [c["id"] for c in clips] == [clip_id]
    assert clips[0]["outcome"] == "analysed"

    # The plan: a session ticked off with effort and pain.
    page.get_by_role("link", name="See your plan").click()
    expect(page.get_by_role("heading", name="Your plan")).to_be_visible()
    screen(page, artifacts, "06-plan")
    session = page.locator("article.session").first
    session.get_by_role("button", name="Log this session").click()
    session.get_by_label(re.compile("^Effort")).fill("7")
    session.get_by_label(re.compile("^Pain")).first.fill("2")
    session.get_by_role("button", name="Save").click()
    expect(page.locator("article.session").first.get_by_role("heading")).to_contain_text("done")
    compliance = httpx.get(f"{server}/api/v1/plans/current/compliance", headers=auth).json()
    # The session logged may be dated later this week: then nothing was due yet (null, never
    # 100 %); if it was due, its sets count.
    if compliance["sessions_due_7"]:
        assert compliance["days_7"] > 0
    else:
        assert compliance["days_7"] is None

    # Home: the clip listed, the calendar-feed link.
    page.get_by_role("link", name="Home").click()
    expect(page.get_by_role("link", name=re.compile("side_treadmill_barefoot"))).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("^Updates"))).to_be_visible()
    expect(page.get_by_role("heading", name="Reminders")).to_be_visible()
    page.get_by_role("button", name="Get the calendar link").click()
    feed = page.get_by_label(re.compile("Calendar feed link")).input_value()
    assert httpx.get(feed).text.startswith("BEGIN:VCALENDAR")
    screen(page, artifacts, "07-athlete-home")

    # The coach: sign up, invite; the athlete accepts; the roster shows them with compliance.
    coach_ctx = browser.new_context(**PHONE_CONTEXT)
    coach = coach_ctx.new_page()
    coach.on("pageerror", lambda e: errors.append(str(e)))
    sign_up(coach, server, "Coach Carter", "carter@example.com", "coach")
    expect(coach.get_by_role("heading", name="Your athletes")).to_be_visible()
    expect(coach.get_by_text("No athletes yet")).to_be_visible()
    coach.get_by_role("button", name="Invite an athlete").click()
    code = coach.locator(".invite-code").inner_text()
    page.get_by_label("Invite code").fill(code)
    page.get_by_role("button", name="Accept invite").click()
    expect(page.get_by_text("You are now coached by Coach Carter.")).to_be_visible()
    coach.reload()
    row = coach.get_by_role("row", name=re.compile("Ada Runner"))
    expect(row).to_be_visible()
    # Compliance over 7 days: a percentage, or "nothing due" when no session was due yet.
    expect(row).to_contain_text(re.compile("%|nothing due"))
    screen(coach, artifacts, "08-coach-roster")
    row.get_by_role("link", name="Ada Runner").click()
    expect(coach.get_by_role("heading", name="Ada Runner")).to_be_visible()
    expect(coach.get_by_text("side_treadmill_barefoot")).to_be_visible()
    screen(coach, artifacts, "09-coach-athlete")

    assert errors == []
    athlete_ctx.close()
    coach_ctx.close()


def test_login_errors_are_shown(server: str, browser: Browser) -> None:
    ctx = browser.new_context(viewport=PHONE)
    page = ctx.new_page()
    page.goto(server + "/login")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.get_by_label("Email").fill("nobody@example.com")
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    # Signing up with a short password shows the server's reason, not a generic failure.
    page.get_by_role("button", name="Create an account").click()
    page.get_by_label("Your name").fill("Short")
    page.get_by_label("Email").fill("short@example.com")
    page.get_by_label("Password").fill("short")
    page.evaluate("() => document.getElementById('password').removeAttribute('minlength')")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("alert")).to_contain_text(re.compile("password", re.I))
    ctx.close()


def test_pwa_manifest_service_worker_and_offline_shell(server: str, browser: Browser,
                                                        artifacts: Path) -> None:
    manifest = httpx.get(f"{server}/manifest.webmanifest")
    assert manifest.status_code == 200
    m = manifest.json()
    assert m["name"] == "StrideLab" and m["start_url"] == "/" and m["display"] == "standalone"
    assert m["theme_color"] and m["background_color"]
    sizes = {i["sizes"] for i in m["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in m["icons"]:
        png = httpx.get(server + icon["src"])
        assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
        width = int.from_bytes(png.content[16:20], "big")
        height = int.from_bytes(png.content[20:24], "big")
        assert f"{width}x{height}" == icon["sizes"]
    # Client-side routes get the app; unknown API paths stay JSON 404s.
    assert "<div id=\"app\">" in httpx.get(f"{server}/plan").text
    missing = httpx.get(f"{server}/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/json")

    ctx = browser.new_context(viewport=PHONE)
    page = ctx.new_page()
    page.goto(server + "/")
    assert page.locator("link[rel=manifest]").get_attribute("href") == "/manifest.webmanifest"
    scope = page.evaluate("async () => (await navigator.serviceWorker.ready).scope")
    assert scope == server + "/"
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=15_000)
    ctx.set_offline(True)
    page.reload()
    expect(page.get_by_role("link", name="StrideLab")).to_be_visible()
    expect(page.get_by_role("heading", name="Create your account")).to_be_visible()
    page.goto(server + "/plan")  # a client-side route, offline: the shell from the cache
    expect(page.get_by_role("link", name="StrideLab")).to_be_visible()
    page.screenshot(path=str(artifacts / "10-offline-shell.png"))
    ctx.close()


def test_unfit_clip_is_shown_as_refused_with_how_to_film_again(
        server: str, browser: Browser, artifacts: Path) -> None:
    clip = CLIPS / "side_treadmill_feet_cut.mp4"
    ctx = browser.new_context(**PHONE_CONTEXT)
    page = ctx.new_page()
    sign_up(page, server, "Feet Cut", "feet@example.com", "athlete")
    expect(page.get_by_role("heading", name="About your running")).to_be_visible()
    page.get_by_role("link", name="Film").click()
    page.get_by_label("Record or choose a clip").set_input_files(str(clip))
    page.wait_for_url(re.compile(r"/clips/\d+$"), timeout=60_000)
    refused = page.get_by_role("heading", name="This clip could not be analysed")
    expect(refused).to_be_visible(timeout=180_000)
    expect(page.get_by_role("heading", name="Why")).to_be_visible()
    reasons = page.locator("section ul").first.inner_text()
    assert reasons.strip(), "a refused clip says why"
    expect(page.get_by_role("heading", name="How to film again")).to_be_visible()
    expect(page.get_by_role("link", name="Film again")).to_be_visible()
    screen(page, artifacts, "11-clip-refused")
    ctx.close()
