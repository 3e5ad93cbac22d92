"""Throughput of our pose pipeline against MediaPipe's own Python pipeline, same clip, one run.

    .venv/bin/python bench/pose_speed.py [--clip PATH] [--repeat 10] [--rounds 2]

The clip (default ``../shared/clips/single_person_front_portrait.mp4``) is remuxed ``--repeat``
times end to end (no re-encoding) into ``bench/.cache/`` so that start-up does not dominate.
Each round runs, alternating, each in a fresh process so that start-up, imports and model
loading are counted as a user would see them:

- ``ours``: ``backend.pose.run_pose`` (runner selection, tracking, everything);
- ``mediapipe``: ``mediapipe.solutions.pose.Pose(model_complexity=1, smooth_landmarks=False)``
  on every frame decoded to RGB by PyAV (upright), in its own virtual environment with
  ``mediapipe==0.10.14`` (``bench/.mpvenv``, created on first use, shared with
  ``tests/fixtures/make_mediapipe_reference.py``);
- ``decode-rgb``: PyAV decoding to RGB alone (the ceiling either pipeline could reach);
- ``decode-yuv``: PyAV decoding alone, no conversion (what our pipeline needs);
- ``ours-ffmpeg-threads``: ours with FFmpeg choosing its decoding threads, the alternative
  to ``backend.pose.pipeline.decoder_threads`` (one thread on two cores or fewer);
- ``ours-cli``: the real ``stridelab pose CLIP --out TRACK.npz`` command (the script beside
  this Python), so the command line's own start-up counts too; only its whole process is
  timed (its start-up cannot be told apart from outside: "after start-up" shows ``-``).

It prints, per variant, frames per second over the whole process (start-up included) and
after start-up, and the peak resident memory; then the ratio ours / MediaPipe (best round of
each). The figures go into docs/pose.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CLIP = REPO_ROOT.parent / "shared" / "clips" / "single_person_front_portrait.mp4"
DEFAULT_VENV = REPO_ROOT / "bench" / ".mpvenv"
CACHE_DIR = REPO_ROOT / "bench" / ".cache"

sys.path.insert(0, str(REPO_ROOT))
# The MediaPipe environment is the reference fixture's: one place builds it.
from tests.fixtures.make_mediapipe_reference import ensure_mediapipe_venv  # noqa: E402

VARIANTS = ("ours", "mediapipe", "decode-rgb", "decode-yuv", "ours-ffmpeg-threads", "ours-cli")


# --- workers: each runs in its own process and prints one JSON line ------------------------


def worker_ours(clip: Path) -> dict[str, float]:
    started = time.perf_counter()
    from backend.pose.pipeline import PoseRunStats, run_pose

    stats = PoseRunStats()
    run_pose(clip, stats=stats)
    return {"frames": stats.frames, "found": stats.found, "detector_runs": stats.detector_runs,
            "startup_s": time.perf_counter() - started - stats.seconds,
            "work_s": stats.seconds}


def worker_ours_ffmpeg_threads(clip: Path) -> dict[str, float]:
    """Ours with FFmpeg choosing its decoding threads, to check ``decoder_threads()``."""
    import backend.pose.pipeline as pipeline

    pipeline.decoder_threads = lambda: 0  # type: ignore[assignment]
    return worker_ours(clip)


def _rgb_frames(clip: Path) -> Iterator[Any]:
    import av
    import numpy as np

    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            rgb = frame.to_ndarray(format="rgb24")
            turns = round((frame.rotation or 0) / 90) % 4
            yield np.ascontiguousarray(np.rot90(rgb, turns)) if turns else rgb


def worker_mediapipe(clip: Path) -> dict[str, float]:
    started = time.perf_counter()
    import mediapipe as mp

    frames = found = 0
    with mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1,
                                smooth_landmarks=False, enable_segmentation=False) as pose:
        work_started = time.perf_counter()
        for rgb in _rgb_frames(clip):
            result = pose.process(rgb)
            frames += 1
            found += result.pose_landmarks is not None
    work = time.perf_counter() - work_started
    return {"frames": frames, "found": found, "startup_s": work_started - started,
            "work_s": work}


def worker_decode_rgb(clip: Path) -> dict[str, float]:
    started = time.perf_counter()
    frames = sum(1 for _ in _rgb_frames(clip))
    return {"frames": frames, "startup_s": 0.0, "work_s": time.perf_counter() - started}


def worker_decode_yuv(clip: Path) -> dict[str, float]:
    started = time.perf_counter()
    from backend.pose.video import iter_frames

    frames = sum(1 for _ in iter_frames(clip))
    return {"frames": frames, "startup_s": 0.0, "work_s": time.perf_counter() - started}


WORKERS = {"ours": worker_ours, "mediapipe": worker_mediapipe, "decode-rgb": worker_decode_rgb,
           "decode-yuv": worker_decode_yuv, "ours-ffmpeg-threads": worker_ours_ffmpeg_threads}


# --- the driver ---------------------------------------------------------------------------


def repeated_clip(clip: Path, repeat: int) -> Path:
    """``clip`` remuxed ``repeat`` times end to end (packets copied, timestamps shifted)."""
    if repeat <= 1:
        return clip
    import av

    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    out = CACHE_DIR / f"{clip.stem}_x{repeat}{clip.suffix}"
    if out.exists() and out.stat().st_mtime >= clip.stat().st_mtime:
        return out
    tmp = out.with_name(out.stem + ".tmp" + out.suffix)
    with av.open(str(clip)) as probe:
        src = probe.streams.video[0]
        time_base = src.time_base or Fraction(1, 90_000)
        span = 0
        for packet in probe.demux(src):
            if packet.pts is not None and packet.duration is not None:
                span = max(span, packet.pts + packet.duration)
    with av.open(str(clip)) as first, av.open(str(tmp), "w") as output:
        src = first.streams.video[0]
        dst = output.add_stream_from_template(src)
        for name, value in src.metadata.items():
            dst.metadata[name] = value
        for side_data in getattr(src, "side_data", {}) or {}:
            del side_data  # rotation is carried by the template's display matrix
        for i in range(repeat):
            with av.open(str(clip)) as container:
                stream = container.streams.video[0]
                for packet in container.demux(stream):
                    if packet.dts is None and packet.pts is None:
                        continue
                    if packet.pts is not None:
                        packet.pts += i * span
                    if packet.dts is not None:
                        packet.dts += i * span
                    packet.stream = dst
                    packet.time_base = time_base
                    output.mux(packet)
    tmp.replace(out)
    return out


def run_cli(clip: Path) -> dict[str, float]:
    """``stridelab pose`` as a user runs it: frames/s over the whole process only."""
    import tempfile

    import numpy as np

    script = Path(sys.executable).with_name("stridelab")
    if not script.is_file():
        sys.exit(f"ours-cli: {script} not found (run `make install`)")
    with tempfile.TemporaryDirectory() as tmp:
        out, log = Path(tmp) / "track.npz", Path(tmp) / "stderr.txt"
        with log.open("wb") as stderr:  # a file, not a pipe: the progress bar cannot block
            started = time.perf_counter()
            process = subprocess.Popen([str(script), "pose", str(clip), "--out", str(out)],
                                       stdout=subprocess.DEVNULL, stderr=stderr, cwd=REPO_ROOT)
            _, status, usage = os.wait4(process.pid, 0)
            wall = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"ours-cli failed:\n{log.read_text(errors='replace')[-3000:]}")
        with np.load(out) as track:
            frames = len(track["timestamps_s"])
            found = int((~np.isnan(track["landmarks"][:, 0, 0])).sum())
    return {"frames": frames, "found": found, "wall_s": wall, "work_s": float("nan"),
            "peak_mb": usage.ru_maxrss / 1024}


def run_variant(variant: str, clip: Path, mp_python: Path) -> dict[str, float]:
    if variant == "ours-cli":
        return run_cli(clip)
    python = str(mp_python) if variant == "mediapipe" else sys.executable
    env = dict(os.environ, GLOG_minloglevel="2", TF_CPP_MIN_LOG_LEVEL="2",
               PYTHONPATH=str(REPO_ROOT))
    started = time.perf_counter()
    process = subprocess.Popen([python, __file__, "--worker", variant, "--clip", str(clip)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                               cwd=REPO_ROOT)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    assert process.stdout is not None and process.stderr is not None
    out, err = process.stdout.read(), process.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{variant} failed:\n{err.decode(errors='replace')[-3000:]}")
    result = json.loads(out.decode().strip().splitlines()[-1])
    result["wall_s"] = wall
    result["peak_mb"] = usage.ru_maxrss / 1024  # kilobytes on Linux
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path, default=DEFAULT_CLIP)
    parser.add_argument("--repeat", type=int, default=10,
                        help="remux the clip this many times end to end (default 10)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV,
                        help="MediaPipe's virtual environment (created if missing)")
    parser.add_argument("--only", choices=VARIANTS, action="append",
                        help="run only these variants")
    parser.add_argument("--worker", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(WORKERS[args.worker](args.clip)))
        return

    variants = args.only or list(VARIANTS)
    mp_python = ensure_mediapipe_venv(args.venv) if "mediapipe" in variants else Path()
    clip = repeated_clip(args.clip.resolve(), args.repeat)
    print(f"clip: {clip.name} ({args.repeat} x {args.clip.name}); {os.cpu_count()} CPUs; "
          f"{args.rounds} rounds, variants alternating, each in a fresh process")
    results: dict[str, list[dict[str, float]]] = {v: [] for v in variants}

    def fps(rate: float) -> str:
        return f"{rate:7.1f}" if rate == rate else f"{'-':>7}"  # NaN: not measured

    for round_index in range(args.rounds):
        for variant in variants:
            r = run_variant(variant, clip, mp_python)
            results[variant].append(r)
            print(f"  round {round_index + 1} {variant:<19} {r['frames']:>6.0f} frames  "
                  f"whole process {fps(r['frames'] / r['wall_s'])} frames/s  "
                  f"after start-up {fps(r['frames'] / r['work_s'])} frames/s  "
                  f"peak {r['peak_mb']:6.0f} MB", flush=True)

    def best(variant: str, key: str) -> float:
        rates = [r["frames"] / r[key] for r in results[variant]]
        return float("nan") if any(rate != rate for rate in rates) else max(rates)

    print("\nbest round, frames per second (whole process / after start-up), peak memory:")
    for variant in variants:
        peak = max(r["peak_mb"] for r in results[variant])
        print(f"  {variant:<19} {fps(best(variant, 'wall_s'))} / {fps(best(variant, 'work_s'))}"
              f"   peak {peak:5.0f} MB")
    if "ours" in results and "mediapipe" in results:
        print(f"\nratio ours / MediaPipe: whole process "
              f"{best('ours', 'wall_s') / best('mediapipe', 'wall_s'):.2f}x, after start-up "
              f"{best('ours', 'work_s') / best('mediapipe', 'work_s'):.2f}x")
    if "ours-cli" in results and "mediapipe" in results:
        print(f"ratio ours-cli / MediaPipe: whole process "
              f"{best('ours-cli', 'wall_s') / best('mediapipe', 'wall_s'):.2f}x")
    if "ours-cli" in results and "ours" in results:
        print(f"ratio ours-cli / ours: whole process "
              f"{best('ours-cli', 'wall_s') / best('ours', 'wall_s'):.2f}x")
    if "ours" in results and "ours-ffmpeg-threads" in results:
        print(f"ratio ours / ours-ffmpeg-threads (decoding threads): after start-up "
              f"{best('ours', 'work_s') / best('ours-ffmpeg-threads', 'work_s'):.2f}x")


if __name__ == "__main__":
    main()
