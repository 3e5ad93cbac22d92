"""Smoke test of a running StrideLab server, as a new athlete would use it: the server is
healthy, an athlete signs up, uploads a real running clip, and the analysis ends with a report.

    python scripts/smoke.py http://127.0.0.1:8000 CLIP.mov

Exits 0 when the clip is analysed (fit, or refused for a reason) and the plan answers; prints
each step. Used by scripts/container_smoke.sh (the Docker image) and tests/test_installed.py
(the installed package outside the repository)."""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path

import httpx


def wait_healthy(client: httpx.Client, timeout_s: float) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            resp = client.get("/healthz")
            if resp.status_code == 200:
                body: dict[str, object] = resp.json()
                return body
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"/healthz did not answer 200 within {timeout_s:.0f} s")
        time.sleep(0.5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url")
    parser.add_argument("clip", type=Path)
    parser.add_argument("--view", default="side")
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="seconds to wait for the analysis")
    args = parser.parse_args(argv)
    with httpx.Client(base_url=args.base_url, timeout=60.0) as client:
        health = wait_healthy(client, 120.0)
        print(f"healthz: {health}")
        email = f"smoke-{uuid.uuid4().hex[:8]}@example.com"
        password = "smoke-test-passphrase"
        resp = client.post("/api/v1/auth/register", json={
            "email": email, "password": password, "role": "athlete",
            "display_name": "Smoke Runner"})
        resp.raise_for_status()
        token = client.post("/api/v1/auth/token",
                            data={"username": email, "password": password}).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        print(f"registered {email}")
        with args.clip.open("rb") as fh:
            resp = client.post("/api/v1/clips", headers=headers, data={"view": args.view},
                               files={"file": (args.clip.name, fh, "video/mp4")})
        if resp.status_code not in (201, 202):
            print(f"upload refused: {resp.status_code} {resp.text}")
            return 1
        clip_id = resp.json()["id"]
        print(f"uploaded {args.clip.name} as clip {clip_id}")
        deadline = time.monotonic() + args.timeout
        last = ""
        while True:
            body = client.get(f"/api/v1/clips/{clip_id}", headers=headers).json()
            state = f"{body['status']} {body.get('stage') or ''} {body['progress']} %"
            if state != last:
                print(f"clip {clip_id}: {state}")
                last = state
            if body["status"] in ("succeeded", "failed"):
                break
            if time.monotonic() > deadline:
                print(f"analysis still {body['status']} after {args.timeout:.0f} s")
                return 1
            time.sleep(1.0)
        if body["status"] != "succeeded":
            print(f"analysis failed: {body.get('error')}")
            return 1
        report = client.get(f"/api/v1/clips/{clip_id}/report", headers=headers)
        report.raise_for_status()
        body = report.json()
        rep = body["report"]
        quality = rep["clip_quality"]
        cadence = rep["metrics"].get("cadence_spm", {}).get("value")
        print(f"report: view {rep['view']}, fit {quality['fit']}, cadence {cadence}, "
              f"faults {[f['code'] for f in rep['faults']]}, key frames {len(body['keyframes'])}")
        if not quality["fit"]:
            print("refused: " + " ".join(quality["reasons"]))
        plan = client.get("/api/v1/plans/current", headers=headers)
        print(f"plan: {plan.status_code}")
        return 0 if plan.status_code in (200, 404) else 1


if __name__ == "__main__":
    sys.exit(main())
