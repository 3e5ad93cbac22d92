"""The two networks behind a small runner interface: onnxruntime in production.

``NetworkRunner.run(tensor)`` takes one NHWC float32 input and returns the named outputs.
:class:`OnnxRunner` is the pipeline's runner; :class:`LiteRtRunner` runs the original
``.tflite`` files with LiteRT (``ai-edge-litert``, a development dependency) as a reference.

Sessions are tuned for this workload (one small image at a time, a decoding thread beside):
sequential execution, full graph optimisation, and intra-op threads that do not spin, so that
an idle inference thread hands its core to the decoder instead of burning it. Where
onnxruntime offers CUDA (``onnxruntime-gpu`` on a machine with a GPU) it is used; CPU otherwise.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from backend.pose.errors import ModelsMissingError

MODELS_DIR_ENV = "STRIDELAB_MODELS_DIR"
DETECTOR_FILE = "pose_detection.onnx"
LANDMARK_FILE = "pose_landmark_full.onnx"
INPUT_NAME = "input_1"

# Output names are the TFLite ones. Detector: regressors (1, 2254, 12), score logits
# (1, 2254, 1). Landmark net: landmarks (1, 195), pose flag (1, 1), segmentation (unused, half
# the cost: pruned), heatmap (1, 64, 64, 39), world landmarks (1, 117).
DETECTOR_OUTPUTS = ("Identity", "Identity_1")
LANDMARK_OUTPUTS = ("Identity", "Identity_1", "Identity_3", "Identity_4")

Tensor = npt.NDArray[np.float32]


def default_models_dir() -> Path:
    configured = os.environ.get(MODELS_DIR_ENV)
    if configured:
        return Path(configured).expanduser()
    # The installed ml_models package, where provisioning puts them (found, not imported):
    # a source checkout and a `pip install .` alike.
    spec = importlib.util.find_spec("ml_models")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path.cwd() / "ml_models"


def model_paths(models_dir: Path | None = None) -> tuple[Path, Path]:
    """The detector and landmark model files, or :class:`ModelsMissingError`."""
    directory = models_dir or default_models_dir()
    paths = (directory / DETECTOR_FILE, directory / LANDMARK_FILE)
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise ModelsMissingError(
            f"The pose models are missing from {directory} ({', '.join(missing)}). "
            "Run `stridelab models fetch` (part of `make install`) to provision them"
            + (f", or point {MODELS_DIR_ENV} at a directory that holds them." if
               MODELS_DIR_ENV not in os.environ else f", or fix {MODELS_DIR_ENV}.")
        )
    return paths


class NetworkRunner(Protocol):
    def run(self, tensor: Tensor) -> dict[str, Tensor]:
        """Run on one NHWC float32 batch of one; the named outputs."""
        ...


@dataclass(frozen=True)
class SessionSettings:
    """onnxruntime settings; the defaults were chosen by measurement (docs/pose.md)."""

    intra_op_threads: int = 2
    allow_spinning: bool = False
    use_cuda: bool = True


def _prune(model_bytes: bytes, outputs: Sequence[str]) -> bytes:
    """The graph reduced to what ``outputs`` need (drops the segmentation head)."""
    import onnx
    from onnx import utils

    model = onnx.load_from_string(model_bytes)
    present = {o.name for o in model.graph.output}
    if set(outputs) == present:
        return model_bytes
    unknown = set(outputs) - present
    if unknown:
        raise ModelsMissingError(
            f"The pose model lacks outputs {sorted(unknown)}: it is not the expected "
            "conversion. Run `stridelab models fetch --force`."
        )
    extracted = utils.Extractor(model).extract_model([i.name for i in model.graph.input],
                                                     list(outputs))
    return bytes(extracted.SerializeToString())


class OnnxRunner:
    """An onnxruntime session over an ONNX file, pruned to ``outputs``."""

    def __init__(self, path: Path, outputs: Sequence[str],
                 settings: SessionSettings | None = None) -> None:
        import onnxruntime as ort

        settings = settings or SessionSettings()
        self.outputs = tuple(outputs)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.intra_op_num_threads = settings.intra_op_threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning",
                                         "1" if settings.allow_spinning else "0")
        options.log_severity_level = 3
        providers = ["CPUExecutionProvider"]
        if settings.use_cuda and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        try:
            model = _prune(path.read_bytes(), self.outputs)
            self._session = ort.InferenceSession(model, options, providers=providers)
        except (OSError, ValueError) as exc:
            raise ModelsMissingError(
                f"{path} cannot be loaded ({exc}). Run `stridelab models fetch --force`."
            ) from exc
        except Exception as exc:  # onnxruntime's own exceptions share no useful base
            raise ModelsMissingError(
                f"{path} is not a usable ONNX model ({exc}). "
                "Run `stridelab models fetch --force`."
            ) from exc
        self.providers = tuple(self._session.get_providers())

    def run(self, tensor: Tensor) -> dict[str, Tensor]:
        values = self._session.run(self.outputs, {INPUT_NAME: tensor})
        return dict(zip(self.outputs, values, strict=True))


class LiteRtRunner:
    """The original ``.tflite`` model on LiteRT: a reference to check the ONNX path against."""

    def __init__(self, path: Path, outputs: Sequence[str], threads: int = 2) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.outputs = tuple(outputs)
        self._interpreter = Interpreter(model_path=str(path), num_threads=threads)
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]["index"]
        by_name = {d["name"]: d["index"] for d in self._interpreter.get_output_details()}
        self._output_indices = [by_name[name] for name in self.outputs]

    def run(self, tensor: Tensor) -> dict[str, Tensor]:
        self._interpreter.set_tensor(self._input, np.ascontiguousarray(tensor, np.float32))
        self._interpreter.invoke()
        return {name: self._interpreter.get_tensor(index).copy()
                for name, index in zip(self.outputs, self._output_indices, strict=True)}


@dataclass
class PoseNetworks:
    detector: NetworkRunner
    landmarker: NetworkRunner


def load_networks(models_dir: Path | None = None,
                  settings: SessionSettings | None = None) -> PoseNetworks:
    """Both networks on onnxruntime, or :class:`ModelsMissingError` telling what to run."""
    detector_path, landmark_path = model_paths(models_dir)
    return PoseNetworks(
        detector=OnnxRunner(detector_path, DETECTOR_OUTPUTS, settings),
        landmarker=OnnxRunner(landmark_path, LANDMARK_OUTPUTS, settings),
    )
