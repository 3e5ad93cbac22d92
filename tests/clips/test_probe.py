"""The probe on damaged files: whatever a flipped byte in the header does to the container,
the answer is a measured clip or a refusal saying what is wrong (a 4xx), never a crash."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from backend.clips.probe import ProbeResult, UnusableClipError, probe_clip
from tests.clips.media import make_clip

HEADER_BYTES = 300  # ftyp, then moov: movie and track headers
SAMPLE_DESCRIPTION_BYTES = 120  # from 'stsd': the codec tag, dimensions, avcC


@pytest.fixture(scope="module")
def faststart_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The header ('moov') first, so the flipped bytes hit the codec and stream tables."""
    return make_clip(tmp_path_factory.mktemp("probe") / "clip.mp4", seconds=3.5, fps=30,
                     size=(90, 160), faststart=True)


def test_flipped_header_bytes_never_crash_the_probe(faststart_clip: Path,
                                                    tmp_path: Path) -> None:
    data = faststart_clip.read_bytes()
    outcomes: Counter[str] = Counter()
    damaged = tmp_path / "damaged.mp4"
    stsd = data.index(b"stsd")
    positions = [*range(HEADER_BYTES), *range(stsd, stsd + SAMPLE_DESCRIPTION_BYTES)]
    for position in positions:
        flipped = bytearray(data)
        flipped[position] ^= 0xFF
        damaged.write_bytes(bytes(flipped))
        try:
            result = probe_clip(damaged, min_duration_s=3, max_duration_s=90, min_fps=24)
        except UnusableClipError as exc:
            assert exc.message and exc.code, position
            outcomes[exc.code] += 1
        else:
            assert isinstance(result, ProbeResult)
            outcomes["accepted"] += 1
    # The flips land in the codec tag among others: refused as an unknown codec.
    assert outcomes["unsupported_codec"] > 0, outcomes
    assert outcomes["accepted"] > 0, outcomes
