"""Fixtures for the pose-model tests: the provisioned models and real video frames.

Provisioning is part of ``make install``, so the models normally exist already and the
session fixture only checks the manifest. Where they cannot be provisioned the tests fail
loudly with provisioning's own message: they never skip.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from numpy.typing import NDArray

from ml_models.provision import POSE_MODELS, ProvisioningError, cached_tflite, ensure_models

CLIPS_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "clips"
# Frames spread over each 100-frame clip: the subject in different poses.
FRAME_INDICES = (10, 50, 90)


@pytest.fixture(scope="session")
def provisioned_models() -> dict[str, Path]:
    """name -> .onnx path of the real models (idempotent ``ensure_models()``)."""
    try:
        return ensure_models(log=lambda _message: None)
    except ProvisioningError as error:
        pytest.fail(f"The pose models could not be provisioned:\n{error}", pytrace=False)


@pytest.fixture(scope="session")
def tflite_models(provisioned_models: dict[str, Path]) -> dict[str, Path]:
    """name -> the verified original .tflite that provisioning converted."""
    paths = {model.name: cached_tflite(model) for model in POSE_MODELS}
    missing = [str(path) for path in paths.values() if not path.is_file()]
    assert not missing, f"provisioning left no cached .tflite at {missing}"
    return paths


@pytest.fixture(scope="session")
def clip_frames() -> list[NDArray[np.uint8]]:
    """RGB frames (H x W x 3, uint8) from every clip in ../shared/clips."""
    clips = sorted(CLIPS_DIR.glob("*.mp4"))
    if not clips:
        pytest.fail(f"no test clips in {CLIPS_DIR}", pytrace=False)
    frames: list[NDArray[np.uint8]] = []
    for clip in clips:
        with av.open(str(clip)) as container:
            for index, frame in enumerate(container.decode(video=0)):
                if index in FRAME_INDICES:
                    frames.append(np.asarray(frame.to_ndarray(format="rgb24"), np.uint8))
                if index >= max(FRAME_INDICES):
                    break
    assert len(frames) == len(clips) * len(FRAME_INDICES)
    return frames
