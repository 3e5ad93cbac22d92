"""Contact sheets for hand-labelling gait events on a real clip.

Writes a PNG grid of consecutive frames (or every n-th with ``--every``), upright (the
container's display rotation applied), optionally cropped around the feet and zoomed, each
tile stamped with its 0-based frame index (decode order of the displayed frames, the index
the labels in ``tests/fixtures/real_running/contacts_*.json`` use) and its presentation time::

    .venv/bin/python scripts/label_frames.py ../shared/clips/running/side_treadmill_barefoot.mov \
        --start 30 --count 24 --crop 0.0 0.6 1.0 1.0 --out /tmp/sheet.png

``--crop`` takes the box as fractions of the upright frame (x0 y0 x1 y1). ``--info`` prints the
clip's frame count, rate, rotation and container metadata and exits.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt

ByteImage = npt.NDArray[np.uint8]


def upright_frames(path: Path, start: int, count: int, every: int = 1,
                   ) -> list[tuple[int, float, ByteImage]]:
    """``count`` frames from ``start``, every ``every``-th, as (index, time in s from the first
    frame, BGR)."""
    out: list[tuple[int, float, ByteImage]] = []
    with av.open(str(path), metadata_errors="ignore") as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        time_base = float(stream.time_base or 1)
        t0: float | None = None
        for index, frame in enumerate(container.decode(stream)):
            t = float(frame.pts or 0) * time_base
            t0 = t if t0 is None else t0
            if index < start:
                continue
            if index >= start + count * every:
                break
            if (index - start) % every:
                continue
            image: ByteImage = np.asarray(frame.to_ndarray(format="bgr24"), dtype=np.uint8)
            turns = round(float(frame.rotation or 0) / 90.0) % 4
            if turns:
                image = np.ascontiguousarray(np.rot90(image, turns))
            out.append((index, t - t0, image))
    return out


def contact_sheet(frames: list[tuple[int, float, ByteImage]], *, crop: tuple[float, ...],
                  tile_width: int, cols: int) -> ByteImage:
    """The frames cropped to ``crop`` (fractions x0 y0 x1 y1), resized to ``tile_width``,
    labelled, in a grid of ``cols`` columns."""
    tiles: list[ByteImage] = []
    for index, t, image in frames:
        h, w = image.shape[:2]
        x0, y0, x1, y1 = (round(crop[0] * w), round(crop[1] * h), round(crop[2] * w),
                          round(crop[3] * h))
        part = image[y0:y1, x0:x1]
        scale = tile_width / part.shape[1]
        tile = cv2.resize(part, (tile_width, max(1, round(part.shape[0] * scale))),
                          interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
        label = f"{index}  {t:.3f}s"
        cv2.putText(tile, label, (6, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 0, 0), 4)
        cv2.putText(tile, label, (6, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 255, 255), 2)
        tiles.append(np.ascontiguousarray(tile, dtype=np.uint8))
    th = max(t.shape[0] for t in tiles)
    rows = math.ceil(len(tiles) / cols)
    sheet = np.full((rows * (th + 4), cols * (tile_width + 4), 3), 255, np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, cols)
        y, x = r * (th + 4), c * (tile_width + 4)
        sheet[y:y + tile.shape[0], x:x + tile.shape[1]] = tile
    return sheet


def print_info(path: Path) -> None:
    with av.open(str(path), metadata_errors="ignore") as container:
        stream = container.streams.video[0]
        times: list[float] = []
        rotation = 0.0
        for frame in container.decode(stream):
            times.append(float(frame.pts or 0) * float(stream.time_base or 1))
            rotation = float(frame.rotation or 0)
        print(f"{path.name}: {len(times)} frames, {times[-1] - times[0]:.3f} s, "
              f"nominal {float(stream.average_rate or 0):.3f} fps, rotation {rotation:.0f}, "
              f"coded {stream.codec_context.width}x{stream.codec_context.height}")
        print("container metadata:", dict(container.metadata))
        for s in container.streams:
            print(f"stream {s.index} ({s.type}) metadata:", dict(s.metadata))


def _at_least_one(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"takes a whole number from 1, not {text}")
    return value


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clip", type=Path)
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--count", type=int, default=24)
    parser.add_argument("--every", type=_at_least_one, default=1,
                        help="take every n-th frame (an overview of a slow-motion clip)")
    parser.add_argument("--cols", type=int, default=6)
    parser.add_argument("--crop", type=float, nargs=4, default=(0.0, 0.0, 1.0, 1.0),
                        metavar=("X0", "Y0", "X1", "Y1"))
    parser.add_argument("--tile-width", type=int, default=320)
    parser.add_argument("--out", type=Path, default=Path("/tmp/contact_sheet.png"))
    parser.add_argument("--info", action="store_true")
    args = parser.parse_args(argv)
    if args.info:
        print_info(args.clip)
        return
    frames = upright_frames(args.clip, args.start, args.count, args.every)
    if not frames:
        raise SystemExit(f"{args.clip.name}: no frames from {args.start}")
    sheet = contact_sheet(frames, crop=tuple(args.crop), tile_width=args.tile_width,
                          cols=args.cols)
    cv2.imwrite(str(args.out), sheet)
    print(f"{args.out}: frames {frames[0][0]}..{frames[-1][0]}")


if __name__ == "__main__":
    main()
