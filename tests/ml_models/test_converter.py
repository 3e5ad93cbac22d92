"""The TFLite->ONNX converter against LiteRT running the original files, output by output.

Criterion, per input and per output: max |onnx - tflite| <= 1e-4 * (max - min of the tflite
output). Two refinements, both because a literal reading cannot be met by any runtime:

* an output of a single value (the landmark net's pose flag) has no range within one
  input, so its range is taken over all the inputs the model is tested on;
* the landmark net's segmentation logits (``Identity_2``, range ~1500, from a last layer
  with large weights) are ill-conditioned: LiteRT's own two CPU back-ends, XNNPACK (the
  default) and its reference kernels, disagree on them by up to ~2.5e-3 of their range on
  random inputs. With D = that disagreement on the same input, ONNX must be within
  criterion + D of the reference kernels (no further from them than XNNPACK is) and within
  criterion + 2 D of XNNPACK (the triangle inequality for an ONNX result as accurate as
  XNNPACK's).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from ai_edge_litert.interpreter import Interpreter, OpResolverType
from numpy.typing import NDArray

from ml_models.provision import POSE_MODELS
from ml_models.tflite_to_onnx import (
    SUPPORTED_OPERATORS,
    SparseLevel,
    convert_model,
    densify,
    prune_outputs,
)

Outputs = dict[str, NDArray[np.float32]]
RELATIVE_TOLERANCE = 1e-4
RANDOM_INPUTS = 4


@dataclass(frozen=True)
class NetSpec:
    size: int
    low: float  # the input range the net expects
    high: float
    # Outputs where LiteRT disagrees with itself beyond the criterion (see module docstring).
    ill_conditioned: tuple[str, ...] = ()


NETS = {
    "pose_detection": NetSpec(size=224, low=-1.0, high=1.0),
    "pose_landmark_full": NetSpec(size=256, low=0.0, high=1.0, ill_conditioned=("Identity_2",)),
}
assert set(NETS) == {model.name for model in POSE_MODELS}


def onnx_session(path: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def litert_interpreter(path: Path, resolver: OpResolverType = OpResolverType.AUTO) -> Interpreter:
    interpreter = Interpreter(
        model_path=str(path), num_threads=2, experimental_op_resolver_type=resolver
    )
    interpreter.allocate_tensors()
    return interpreter


def run_litert(interpreter: Interpreter, image: NDArray[np.float32]) -> Outputs:
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], image)
    interpreter.invoke()
    return {
        detail["name"]: interpreter.get_tensor(detail["index"]).copy()
        for detail in interpreter.get_output_details()
    }


def run_onnx(session: ort.InferenceSession, image: NDArray[np.float32]) -> Outputs:
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(None, {session.get_inputs()[0].name: image}), strict=True))


def random_inputs(spec: NetSpec) -> list[NDArray[np.float32]]:
    rng = np.random.default_rng(20240514)
    shape = (1, spec.size, spec.size, 3)
    return [
        rng.uniform(spec.low, spec.high, shape).astype(np.float32) for _ in range(RANDOM_INPUTS)
    ]


def frame_inputs(spec: NetSpec, frames: Iterable[NDArray[np.uint8]]) -> list[NDArray[np.float32]]:
    """Whole frames resized to the net input and scaled to its input range."""
    inputs = []
    for frame in frames:
        resized = cv2.resize(frame, (spec.size, spec.size), interpolation=cv2.INTER_AREA)
        scaled = resized.astype(np.float32) / 255.0 * (spec.high - spec.low) + spec.low
        inputs.append(scaled[None])
    return inputs


@dataclass
class Comparison:
    onnx: list[Outputs]
    litert: list[Outputs]
    litert_reference: list[Outputs]  # LiteRT's reference kernels, for ill-conditioned outputs


@pytest.fixture(scope="module")
def comparisons(
    provisioned_models: dict[str, Path],
    tflite_models: dict[str, Path],
    clip_frames: list[NDArray[np.uint8]],
) -> dict[tuple[str, str], Comparison]:
    """(model, "random" | "frames") -> outputs of ONNX and LiteRT on the same inputs."""
    results: dict[tuple[str, str], Comparison] = {}
    for name, spec in NETS.items():
        session = onnx_session(provisioned_models[name])
        interpreter = litert_interpreter(tflite_models[name])
        reference = (
            litert_interpreter(tflite_models[name], OpResolverType.BUILTIN_REF)
            if spec.ill_conditioned
            else None
        )
        for kind, inputs in (
            ("random", random_inputs(spec)),
            ("frames", frame_inputs(spec, clip_frames)),
        ):
            results[name, kind] = Comparison(
                onnx=[run_onnx(session, x) for x in inputs],
                litert=[run_litert(interpreter, x) for x in inputs],
                litert_reference=[run_litert(reference, x) for x in inputs] if reference else [],
            )
    return results


def equivalence_report(
    name: str, comparisons: dict[tuple[str, str], Comparison], kind: str
) -> tuple[list[str], dict[str, float]]:
    """Failures (empty when equivalent) and, per output, the worst max|diff| / range."""
    spec = NETS[name]
    every_input = [*comparisons[name, "random"].litert, *comparisons[name, "frames"].litert]
    comparison = comparisons[name, kind]
    failures: list[str] = []
    worst: dict[str, float] = {}
    for index, (onnx_outputs, litert_outputs) in enumerate(
        zip(comparison.onnx, comparison.litert, strict=True)
    ):
        assert list(onnx_outputs) == list(litert_outputs), "output names or order differ"
        for output, expected in litert_outputs.items():
            actual = onnx_outputs[output]
            assert actual.shape == expected.shape, f"{output}: {actual.shape} vs {expected.shape}"
            if expected.size > 1:
                scale = float(expected.max() - expected.min())
            else:
                values = np.concatenate([outputs[output].ravel() for outputs in every_input])
                scale = float(values.max() - values.min())
            assert scale > 0, f"{output} is constant over the test inputs"
            difference = float(np.abs(actual - expected).max())
            worst[output] = max(worst.get(output, 0.0), difference / scale)
            criterion = RELATIVE_TOLERANCE * scale
            checks = [("LiteRT", difference, criterion)]
            if output in spec.ill_conditioned:
                reference = comparison.litert_reference[index][output]
                disagreement = float(np.abs(expected - reference).max())
                checks = [
                    ("LiteRT", difference, criterion + 2 * disagreement),
                    (
                        "LiteRT reference kernels",
                        float(np.abs(actual - reference).max()),
                        criterion + disagreement,
                    ),
                ]
            failures.extend(
                f"{name} {kind} input {index} {output} vs {oracle}: max|diff| {measured:.3g} "
                f"> {tolerance:.3g} (range {scale:.4g})"
                for oracle, measured, tolerance in checks
                if measured > tolerance
            )
    return failures, worst


@pytest.mark.parametrize("name", NETS)
@pytest.mark.parametrize("kind", ["random", "frames"])
def test_outputs_match_litert(
    name: str, kind: str, comparisons: dict[tuple[str, str], Comparison]
) -> None:
    failures, worst = equivalence_report(name, comparisons, kind)
    print(f"{name} {kind}: worst max|diff|/range per output", worst)
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("name", NETS)
def test_interface_matches_tflite(
    name: str, provisioned_models: dict[str, Path], tflite_models: dict[str, Path]
) -> None:
    """Same input and output names, shapes and order: callers feed NHWC images as before."""
    interpreter = litert_interpreter(tflite_models[name])
    session = onnx_session(provisioned_models[name])
    expected_inputs = [(d["name"], list(d["shape"])) for d in interpreter.get_input_details()]
    assert [(i.name, i.shape) for i in session.get_inputs()] == expected_inputs
    expected_outputs = [(d["name"], list(d["shape"])) for d in interpreter.get_output_details()]
    assert [(o.name, o.shape) for o in session.get_outputs()] == expected_outputs
    assert all(o.type == "tensor(float)" for o in session.get_outputs())


@pytest.mark.parametrize("name", NETS)
def test_graph_is_nchw_without_layout_transposes_in_the_hot_path(
    name: str, provisioned_models: dict[str, Path]
) -> None:
    """One Transpose at the input; others only where an output is flattened or returned."""
    graph = onnx.load(str(provisioned_models[name])).graph
    graph_input = graph.input[0].name
    graph_outputs = {output.name for output in graph.output}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for value in node.input:
            consumers.setdefault(value, []).append(node)
    transposes = [node for node in graph.node if node.op_type == "Transpose"]
    at_input = [node for node in transposes if node.input[0] == graph_input]
    assert len(at_input) == 1 and list(at_input[0].attribute[0].ints) == [0, 3, 1, 2]
    for node in transposes:
        if node is at_input[0]:
            continue
        uses = consumers.get(node.output[0], [])
        assert node.output[0] in graph_outputs or (
            uses and all(use.op_type == "Reshape" for use in uses)
        ), f"layout transpose {node.name} feeds {[use.op_type for use in uses]}"


@pytest.mark.parametrize("name", NETS)
def test_weights_are_dense_float32(name: str, provisioned_models: dict[str, Path]) -> None:
    """float16 and sparse weights are folded at conversion: nothing decodes at run time."""
    model = onnx.load(str(provisioned_models[name]))
    onnx.checker.check_model(model, full_check=True)
    float_types = {
        initializer.data_type
        for initializer in model.graph.initializer
        if initializer.data_type not in (onnx.TensorProto.INT64,)
    }
    assert float_types == {onnx.TensorProto.FLOAT}
    op_types = {node.op_type for node in model.graph.node}
    assert not op_types & {"DequantizeLinear", "Cast", "Constant"}, op_types


@pytest.mark.parametrize("name", NETS)
def test_every_operator_of_the_graphs_is_covered(name: str, tflite_models: dict[str, Path]) -> None:
    import tflite
    from tflite.utils import opcode2name

    model = tflite.Model.GetRootAs(tflite_models[name].read_bytes(), 0)
    used = {
        opcode2name(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()))
        for code in (model.OperatorCodes(i) for i in range(model.OperatorCodesLength()))
    }
    assert used <= SUPPORTED_OPERATORS, used - SUPPORTED_OPERATORS


def test_conversion_is_deterministic(tflite_models: dict[str, Path]) -> None:
    """Same bytes every time, so the manifest's digest of the .onnx means something."""
    source = tflite_models["pose_detection"].read_bytes()
    assert convert_model(source).SerializeToString() == convert_model(source).SerializeToString()


def test_pruned_landmark_net_matches_the_full_one(
    provisioned_models: dict[str, Path], clip_frames: list[NDArray[np.uint8]]
) -> None:
    """Dropping the segmentation head (half the cost) leaves the other outputs unchanged."""
    full_model = onnx.load(str(provisioned_models["pose_landmark_full"]))
    kept = ["Identity", "Identity_1", "Identity_3", "Identity_4"]
    pruned = prune_outputs(full_model, kept)
    assert [o.name for o in pruned.graph.output] == kept
    assert len(pruned.graph.node) < len(full_model.graph.node)
    onnx.checker.check_model(pruned, full_check=True)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    session = ort.InferenceSession(pruned.SerializeToString(), options)
    full_session = onnx_session(provisioned_models["pose_landmark_full"])
    image = frame_inputs(NETS["pose_landmark_full"], clip_frames[:1])[0]
    pruned_outputs = run_onnx(session, image)
    full_outputs = run_onnx(full_session, image)
    for output in kept:
        np.testing.assert_array_equal(pruned_outputs[output], full_outputs[output])
    with pytest.raises(ValueError, match="unknown outputs"):
        prune_outputs(full_model, ["Identity_9"])


# -- DENSIFY: the sparse format, checked on hand-made tensors --------------------------------


def _csr_levels(dense: NDArray[np.float32]) -> tuple[NDArray[np.float32], list[SparseLevel]]:
    """Rows dense, columns CSR: the layout the detector's sparse weights use."""
    rows = dense.shape[0]
    segments: list[int] = [0]
    indices: list[int] = []
    values: list[float] = []
    for row in dense:
        nonzero = np.flatnonzero(row)
        indices.extend(nonzero)
        values.extend(row[nonzero])
        segments.append(len(indices))
    levels = [
        SparseLevel(dense_size=rows),
        SparseLevel(segments=np.asarray(segments), indices=np.asarray(indices)),
    ]
    return np.asarray(values, np.float32), levels


def test_densify_csr() -> None:
    rng = np.random.default_rng(3)
    dense = rng.normal(size=(6, 9)).astype(np.float32)
    dense[rng.random(dense.shape) < 0.6] = 0
    dense[2] = 0  # an empty row
    values, levels = _csr_levels(dense)
    np.testing.assert_array_equal(densify(values, levels, [0, 1], [], dense.shape), dense)


def test_densify_traversal_order_and_blocks() -> None:
    """Column-major traversal, and a block map splitting dimension 1 into blocks of 2."""
    dense = np.arange(1, 13, dtype=np.float32).reshape(3, 4)
    # Column-major, all dense: values listed column by column.
    column_major = dense.T.ravel()
    levels = [SparseLevel(dense_size=4), SparseLevel(dense_size=3)]
    np.testing.assert_array_equal(densify(column_major, levels, [1, 0], [], (3, 4)), dense)
    # Dimension 1 in blocks of 2: expanded dims (row, block, within-block), all dense.
    levels = [SparseLevel(dense_size=3), SparseLevel(dense_size=2), SparseLevel(dense_size=2)]
    np.testing.assert_array_equal(densify(dense.ravel(), levels, [0, 1, 2], [1], (3, 4)), dense)
