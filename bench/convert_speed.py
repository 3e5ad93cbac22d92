"""Latency of the converted pose models (onnxruntime) against LiteRT on the original files.

    python bench/convert_speed.py [--threads 2] [--rounds 15] [--runs 20]

Both runtimes get the same random input and thread count; onnxruntime runs with
ORT_ENABLE_ALL. Runs are interleaved in rounds so that machine noise hits every variant
alike. The landmark net is also timed pruned to the outputs the pose pipeline reads (no
segmentation head). Needs the provisioned models (``stridelab models fetch``) and
``ai-edge-litert`` (a dev dependency).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from ai_edge_litert.interpreter import Interpreter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ml_models.provision import POSE_MODELS, cached_tflite, ensure_models
from ml_models.tflite_to_onnx import prune_outputs

INPUT_SIZES = {"pose_detection": 224, "pose_landmark_full": 256}
PIPELINE_OUTPUTS = ["Identity", "Identity_1", "Identity_3", "Identity_4"]


def onnx_runner(model: onnx.ModelProto, threads: int, image: np.ndarray) -> Callable[[], object]:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    feed = {session.get_inputs()[0].name: image}
    return lambda: session.run(None, feed)


def litert_runner(path: Path, threads: int, image: np.ndarray) -> Callable[[], object]:
    interpreter = Interpreter(model_path=str(path), num_threads=threads)
    interpreter.allocate_tensors()
    index = interpreter.get_input_details()[0]["index"]

    def run() -> None:
        interpreter.set_tensor(index, image)
        interpreter.invoke()

    return run


def measure(
    runners: dict[str, Callable[[], object]], rounds: int, runs: int
) -> dict[str, list[float]]:
    for run in runners.values():
        for _ in range(20):  # warm-up: allocations, thread pools, caches
            run()
    times: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(rounds):
        for name, run in runners.items():
            for _ in range(runs):
                start = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    onnx_paths = ensure_models(log=lambda _message: None)
    print(
        f"onnxruntime {ort.__version__}, {args.threads} threads, ORT_ENABLE_ALL; "
        f"median (p10) over {args.rounds * args.runs} runs"
    )
    for model in POSE_MODELS:
        size = INPUT_SIZES[model.name]
        image = np.random.default_rng(0).random((1, size, size, 3), dtype=np.float32)
        converted = onnx.load(str(onnx_paths[model.name]))
        runners = {
            "onnxruntime": onnx_runner(converted, args.threads, image),
            "LiteRT": litert_runner(cached_tflite(model), args.threads, image),
        }
        if model.name == "pose_landmark_full":
            pruned = prune_outputs(converted, PIPELINE_OUTPUTS)
            runners["onnxruntime, no segmentation"] = onnx_runner(pruned, args.threads, image)
        for name, samples in measure(runners, args.rounds, args.runs).items():
            milliseconds = np.asarray(samples) * 1e3
            print(
                f"  {model.name:20} {name:30} {np.median(milliseconds):6.2f} ms "
                f"({np.percentile(milliseconds, 10):.2f})"
            )


if __name__ == "__main__":
    main()
