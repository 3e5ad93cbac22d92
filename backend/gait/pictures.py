"""Pictures for the report and the coach: key frames with the measured lines drawn, and each
metric stride by stride.

- Key frames, per side: from behind or in front, initial contact and mid-stance with the hip
  line (pelvic drop) against the horizontal and the body midline (crossover) down to the
  feet; from the side, initial contact with the shank against the vertical and the heel's
  distance ahead of the hip, and mid-stance with the knee angle and the trunk line.
- ``strides.png``: every measured metric against time, left and right, with its median and
  the fault threshold where there is one.

The lines are drawn from the track's landmarks in that very frame (what the image shows);
the report's numbers are medians over strides. Matplotlib's Agg backend: no display needed.
Frames come from the clip when given (``clip_frames``), else a plain background of the
frame's size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes

from backend.gait import thresholds as th
from backend.gait.types import Report
from backend.pose.track import POSE_CONNECTIONS, Track

Image = npt.NDArray[np.uint8]
SIDE_COLOUR = {"left": "#1f77b4", "right": "#ff7f0e", None: "#555555"}
LEG_IDX = {"left": (23, 25, 27, 29, 31), "right": (24, 26, 28, 30, 32)}
# The fault threshold drawn on each metric's stride plot (names the bands it comes from).
THRESHOLD_LINES: dict[str, float] = {
    "pelvic_drop_deg": th.PELVIC_DROP.mild,
    "step_width_norm": th.STEP_WIDTH.mild,
    "arm_crossover_norm": th.ARM_CROSSOVER.mild,
    "recovery_external_rotation_deg": th.RECOVERY_EXTERNAL_ROTATION.mild,
    "knee_fppa_deg": th.KNEE_FPPA.mild,
    "foot_ahead_of_hip_norm": th.FOOT_AHEAD_OF_HIP.mild,
    "shank_angle_ic_deg": th.SHANK_ANGLE_OVERSTRIDE_DEG,
    "cadence_spm": th.CADENCE.mild,
    "trunk_forward_lean_deg": th.TRUNK_FORWARD_LEAN.mild,
    "trunk_lateral_lean_deg": th.TRUNK_LATERAL_LEAN.mild,
}


@dataclass
class KeyFrame:
    t_s: float
    kind: str  # "initial_contact" or "mid_stance"
    side: str


def _representative(report: Report, key: str, side: str) -> float | None:
    """The frame time of the stride whose value is that side's median."""
    rows = [s for s in report.metrics[key].per_stride if s.side == side] if (
        key in report.metrics) else []
    if not rows:
        return None
    med = float(np.median([r.value for r in rows]))
    return min(rows, key=lambda r: abs(r.value - med)).t_s


def key_frames(report: Report) -> list[KeyFrame]:
    """Initial contact and mid-stance of a representative stance of each foot, in the clip's
    own seconds (the report's are real seconds: slow motion divides them back)."""
    if not report.clip_quality.fit:
        return []
    scale = report.clip_quality.time_scale or 1.0
    out: list[KeyFrame] = []
    for side in ("left", "right"):
        ev = report.events.side(side)
        if not ev.initial_contact_s:
            continue
        anchor = _representative(report, "shank_angle_ic_deg" if report.view == "side"
                                 else "pelvic_drop_deg", side)
        ics = np.asarray(ev.initial_contact_s)
        if anchor is None:
            ic = float(ics[len(ics) // 2])
        else:
            before = ics[ics <= anchor + 1e-6]
            ic = float(before[-1]) if before.size else float(ics[0])
        tos = [t for t in ev.toe_off_s if t > ic]
        mid = 0.5 * (ic + tos[0]) if tos else ic
        out.append(KeyFrame(ic / scale, "initial_contact", side))
        out.append(KeyFrame(mid / scale, "mid_stance", side))
    return out


def clip_frames(clip: str | Path, times: list[float]) -> dict[float, Image]:
    """The upright RGB frames of ``clip`` nearest each of ``times`` (decoded in one pass)."""
    from backend.pose.video import iter_frames

    wanted = sorted(set(times))
    best: dict[float, tuple[float, Image]] = {}
    for frame in iter_frames(clip):
        near = [t for t in wanted if abs(frame.timestamp_s - t) < 0.05]
        for t in near:
            d = abs(frame.timestamp_s - t)
            if t not in best or d < best[t][0]:
                best[t] = (d, frame.to_rgb())
        if wanted and frame.timestamp_s > wanted[-1] + 0.05:
            break
    return {t: img for t, (_, img) in best.items()}


def _pt(lm: npt.NDArray[np.float32], j: int) -> npt.NDArray[np.float64]:
    return np.asarray(lm[j, :2], dtype=np.float64)


def _label(ax: Axes, xy: npt.NDArray[np.float64], text: str, colour: str) -> None:
    ax.annotate(text, xy=(float(xy[0]), float(xy[1])), xytext=(8, -8),
                textcoords="offset points", color=colour, fontsize=9, fontweight="bold",
                bbox={"facecolor": "black", "alpha": 0.55, "pad": 2, "edgecolor": "none"})


def _skeleton(ax: Axes, lm: npt.NDArray[np.float32]) -> None:
    for a, b in POSE_CONNECTIONS:
        p, q = lm[a, :2], lm[b, :2]
        if np.isfinite(p).all() and np.isfinite(q).all():
            ax.plot([p[0], q[0]], [p[1], q[1]], color="white", lw=1.2, alpha=0.8)


def _frontal_lines(ax: Axes, lm: npt.NDArray[np.float32], side: str, view: str) -> None:
    lh, rh = _pt(lm, 23), _pt(lm, 24)
    stance = lh if side == "left" else rh
    swing = rh if side == "left" else lh
    # Hip line and the horizontal through the stance hip: the pelvic drop.
    ax.plot([lh[0], rh[0]], [lh[1], rh[1]], color="yellow", lw=2.5)
    span = abs(swing[0] - stance[0])
    ax.plot([stance[0], swing[0]], [stance[1], stance[1]], color="yellow", lw=1, ls="--")
    drop = math.degrees(math.atan2(swing[1] - stance[1], max(span, 1e-6)))
    _label(ax, swing, f"pelvic drop {drop:.1f}°", "yellow")
    # Body midline (mid-shoulder to mid-hip) carried down to the feet: crossover.
    ms = 0.5 * (_pt(lm, 11) + _pt(lm, 12))
    mh = 0.5 * (lh + rh)
    floor_y = float(np.nanmax(lm[[29, 30, 31, 32], 1]))
    d = mh - ms
    k = (floor_y - ms[1]) / d[1] if abs(d[1]) > 1e-6 else 1.0
    end = ms + k * d
    ax.plot([ms[0], end[0]], [ms[1], end[1]], color="cyan", lw=1.5, ls="-.")
    _label(ax, end, "midline", "cyan")
    for s in ("left", "right"):
        ankle = _pt(lm, LEG_IDX[s][2])
        ax.plot(ankle[0], ankle[1], "o", color=SIDE_COLOUR[s], ms=7)
    # Wrists against the midline.
    for j in (15, 16):
        w = _pt(lm, j)
        ax.plot(w[0], w[1], "s", color="magenta", ms=6)


def _sagittal_lines(ax: Axes, lm: npt.NDArray[np.float32], side: str, kind: str,
                    facing_right: bool) -> None:
    hip, knee, ankle, heel, _ = (_pt(lm, j) for j in LEG_IDX[side])
    track_h = float(np.nanmax(lm[:, 1]) - np.nanmin(lm[:, 1]))
    fwd = 1.0 if facing_right else -1.0
    if kind == "initial_contact":
        # Shank against the vertical, positive with the ankle ahead of the knee.
        ax.plot([knee[0], ankle[0]], [knee[1], ankle[1]], color="magenta", lw=3)
        ax.plot([knee[0], knee[0]], [knee[1], ankle[1]], color="magenta", lw=1, ls="--")
        shank = math.degrees(math.atan2(fwd * (ankle[0] - knee[0]), ankle[1] - knee[1]))
        _label(ax, 0.5 * (knee + ankle), f"shank {shank:.1f}°", "magenta")
        # The heel ahead of the hip: vertical through the mid-hip, arrow to the heel.
        mh = 0.5 * (_pt(lm, 23) + _pt(lm, 24))
        ax.plot([mh[0], mh[0]], [mh[1], heel[1]], color="cyan", lw=1.5, ls="-.")
        ax.annotate("", xy=(float(heel[0]), float(heel[1])), xytext=(float(mh[0]), float(heel[1])),
                    arrowprops={"arrowstyle": "->", "color": "cyan", "lw": 2})
        _label(ax, np.array([mh[0], heel[1] + 0.04 * track_h]), "foot ahead of hip", "cyan")
    else:
        ax.plot([hip[0], knee[0], ankle[0]], [hip[1], knee[1], ankle[1]], color="lime", lw=3)
        u, v = hip - knee, ankle - knee
        cos = float(u @ v / (np.linalg.norm(u) * np.linalg.norm(v) + 1e-9))
        flex = 180.0 - math.degrees(math.acos(max(-1.0, min(1.0, cos))))
        _label(ax, knee, f"knee flexion {flex:.0f}°", "lime")
        ms = 0.5 * (_pt(lm, 11) + _pt(lm, 12))
        mh = 0.5 * (_pt(lm, 23) + _pt(lm, 24))
        ax.plot([mh[0], ms[0]], [mh[1], ms[1]], color="yellow", lw=2.5)
        ax.plot([mh[0], mh[0]], [mh[1], ms[1]], color="yellow", lw=1, ls="--")
        lean = math.degrees(math.atan2(fwd * (ms[0] - mh[0]), mh[1] - ms[1]))
        _label(ax, ms, f"trunk lean {lean:.1f}°", "yellow")


def _render_key_frame(report: Report, track: Track, k: KeyFrame, image: Image | None,
                      path: Path) -> bool:
    i = int(np.argmin(np.abs(track.timestamps_s - k.t_s)))
    lm = track.landmarks[i]
    if not np.isfinite(lm[[23, 24, 25, 26, 27, 28], :2]).all():
        return False
    w, h = track.width, track.height
    # Crop to the person with a margin: the lines must be readable on a phone.
    pts = lm[:, :2][np.isfinite(lm[:, :2]).all(axis=1)]
    size = float(np.ptp(pts[:, 1]))
    x0, x1 = max(0.0, pts[:, 0].min() - 0.3 * size), min(float(w), pts[:, 0].max() + 0.3 * size)
    y0, y1 = max(0.0, pts[:, 1].min() - 0.15 * size), min(float(h), pts[:, 1].max() + 0.15 * size)
    scale = 7.0 / max(x1 - x0, y1 - y0, 1.0)
    fig, ax = plt.subplots(figsize=(max(3.0, (x1 - x0) * scale), max(3.0, (y1 - y0) * scale)),
                           dpi=120)
    if image is not None:
        ax.imshow(image, extent=(0, w, h, 0))
    else:
        ax.set_facecolor("#303030")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y1, y0)
    _skeleton(ax, lm)
    if report.view == "side":
        _sagittal_lines(ax, lm, k.side, k.kind, report.view_detail.facing != "left")
    else:
        _frontal_lines(ax, lm, k.side, report.view)
    ax.set_title(f"{k.side} {k.kind.replace('_', ' ')} at {track.timestamps_s[i]:.3f} s",
                 fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def _render_strides(report: Report, path: Path) -> bool:
    shown = [m for m in report.metrics.values()
             if m.per_stride and m.key not in ("trunk_lean_deg", "vertical_oscillation_cm")]
    if not shown:
        return False
    cols = 2
    rows = math.ceil(len(shown) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(11, 2.4 * rows), dpi=100, squeeze=False)
    for ax, m in zip(axes.ravel(), shown, strict=False):
        for side in ("left", "right", None):
            pts = [(s.t_s, s.value) for s in m.per_stride if s.side == side]
            if pts:
                t, v = zip(*pts, strict=True)
                ax.plot(t, v, "o-", ms=3, lw=0.8, color=SIDE_COLOUR[side],
                        label=side or "both")
        if m.value is not None:
            ax.axhline(m.value, color="black", lw=1, ls="--", label="median")
        if m.key in THRESHOLD_LINES:
            ax.axhline(THRESHOLD_LINES[m.key], color="red", lw=1, ls=":", label="threshold")
        ax.set_title(f"{m.key} ({m.unit})" if m.unit else m.key, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6, loc="best")
    for ax in axes.ravel()[len(shown):]:
        ax.axis("off")
    axes[-1, 0].set_xlabel("time (s)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def render(report: Report, track: Track, out_dir: str | Path,
           frames: dict[float, Image] | None = None) -> list[Path]:
    """Write the key frames and the stride plot into ``out_dir``; return the files written.

    ``frames`` maps key-frame times (from :func:`key_frames`) to the clip's RGB frames; without
    it the lines are drawn on a plain background. An unfit clip has no key frames or strides:
    nothing is drawn rather than something invented.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for k in key_frames(report):
        path = out / f"{k.side}_{k.kind}.png"
        image = None
        if frames:
            near = min(frames, key=lambda t: abs(t - k.t_s))
            image = frames[near] if abs(near - k.t_s) < 0.05 else None
        if _render_key_frame(report, track, k, image, path):
            written.append(path)
    path = out / "strides.png"
    if report.clip_quality.fit and _render_strides(report, path):
        written.append(path)
    return written
