"""Convert the MediaPipe pose ``.tflite`` graphs to ONNX, in NCHW, with float32 weights.

The TFLite flatbuffer is read with the ``tflite`` package and the ONNX graph written with
``onnx.helper``. Design choices, all for onnxruntime's sake:

* Every 4-D activation is kept NCHW. The NHWC graph input is transposed once, weights are
  re-laid out at conversion time, RESHAPE/CONCATENATION/PAD axes are remapped, and only the
  4-D graph outputs (and the detector's flattening heads) go back to NHWC. A graph of
  Conv/Add/Resize/DepthToSpace with no layout transposes in between is what onnxruntime's
  NCHWc optimiser handles best.
* Constant sub-graphs (float16 weights, sparse DENSIFY weights, their DEQUANTIZE) are folded
  into dense float32 initializers, so nothing is decoded at run time.
* Zero PAD feeding only convolutions is folded into the convolutions' own ``pads``.

Input and output names, shapes and layouts are the TFLite ones (``input_1`` NHWC in;
``Identity``, ``Identity_1``, ... out), so callers feed HWC images and read the same tensors
as with LiteRT.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import tflite
from numpy.typing import NDArray
from onnx import helper, numpy_helper
from tflite.utils import opcode2name

# Bump whenever the produced graph changes: provisioning re-converts when this differs.
CONVERTER_VERSION = "1"
ONNX_OPSET = 17

NHWC_TO_NCHW = (0, 3, 1, 2)
# onnxruntime's NCHWc channel block (16 with AVX-512, 8 with AVX2): see activation().
NCHWC_BLOCK = 16
NCHW_TO_NHWC = (0, 2, 3, 1)

# TFLite TensorType -> numpy dtype, for the types these graphs store.
_TFLITE_DTYPES: dict[int, type[np.generic]] = {
    tflite.TensorType.FLOAT32: np.float32,
    tflite.TensorType.FLOAT16: np.float16,
    tflite.TensorType.INT32: np.int32,
    tflite.TensorType.INT64: np.int64,
    tflite.TensorType.UINT8: np.uint8,
    tflite.TensorType.INT8: np.int8,
    tflite.TensorType.INT16: np.int16,
}

# Operators that only ever act on constants here and are evaluated at conversion time.
_FOLDED_OPERATORS = frozenset({"DEQUANTIZE", "DENSIFY"})

SUPPORTED_OPERATORS = frozenset(
    {
        "ADD",
        "CONCATENATION",
        "CONV_2D",
        "DEPTHWISE_CONV_2D",
        "DEPTH_TO_SPACE",
        "LOGISTIC",
        "MAX_POOL_2D",
        "PAD",
        "RESHAPE",
        "RESIZE_BILINEAR",
    }
    | _FOLDED_OPERATORS
)


class ConversionError(RuntimeError):
    """The TFLite graph uses something this converter does not handle."""


# ---------------------------------------------------------------------------------------------
# Sparse (DENSIFY) weights


@dataclass(frozen=True)
class SparseLevel:
    """One level of a TFLite sparse tensor, in traversal order.

    A dense level has ``dense_size`` entries per parent; a CSR level lists, per parent
    ``p``, the coordinates ``indices[segments[p]:segments[p + 1]]``.
    """

    dense_size: int = 0
    segments: NDArray[np.int64] | None = None
    indices: NDArray[np.int64] | None = None

    @property
    def is_dense(self) -> bool:
        return self.segments is None


def densify(
    values: NDArray[np.generic],
    levels: Sequence[SparseLevel],
    traversal_order: Sequence[int],
    block_map: Sequence[int],
    dense_shape: Sequence[int],
) -> NDArray[np.generic]:
    """Expand a TFLite sparse tensor (the format DENSIFY reads) into a dense array.

    Follows TFLite's format converter: ``levels[i]`` describes expanded dimension
    ``traversal_order[i]``; expanded dimensions past the rank are the inner block dimensions
    of the original dimensions named in ``block_map``. Vectorised level by level, since the
    detector holds conv weights of close to a million entries.
    """
    rank = len(dense_shape)
    if len(levels) != len(traversal_order) or len(traversal_order) != rank + len(block_map):
        raise ConversionError("sparse tensor metadata is inconsistent with its shape")
    positions = np.zeros(1, dtype=np.int64)  # index into the next level (finally into values)
    coordinates: list[NDArray[np.int64]] = []  # one coordinate array per level seen so far
    for level in levels:
        if level.is_dense:
            size = level.dense_size
            coordinates = [np.repeat(c, size) for c in coordinates]
            coordinates.append(np.tile(np.arange(size, dtype=np.int64), positions.size))
            positions = (positions[:, None] * size + np.arange(size)[None, :]).ravel()
        else:
            assert level.segments is not None and level.indices is not None
            starts = level.segments[positions]
            counts = level.segments[positions + 1] - starts
            # Concatenation of the ranges [start, start + count) for every parent.
            run_offsets = np.repeat(starts - (np.cumsum(counts) - counts), counts)
            children = np.arange(int(counts.sum()), dtype=np.int64) + run_offsets
            coordinates = [np.repeat(c, counts) for c in coordinates]
            coordinates.append(level.indices[children])
            positions = children

    expanded: list[NDArray[np.int64] | None] = [None] * len(levels)
    for level_index, dimension in enumerate(traversal_order):
        expanded[dimension] = coordinates[level_index]
    original = [c for c in expanded[:rank] if c is not None]
    for block, dimension in enumerate(block_map):
        inner = expanded[rank + block]
        assert inner is not None
        block_size = levels[list(traversal_order).index(rank + block)].dense_size
        original[dimension] = original[dimension] * block_size + inner

    if positions.size != values.size:
        raise ConversionError(f"sparse tensor lists {positions.size} values, holds {values.size}")
    dense = np.zeros(tuple(dense_shape), dtype=values.dtype)
    dense[tuple(original)] = values[positions]
    return dense


def _index_vector(kind: int, table: object) -> NDArray[np.int64]:
    vector_types: dict[int, Callable[[], object]] = {
        tflite.SparseIndexVector.Int32Vector: tflite.Int32Vector,
        tflite.SparseIndexVector.Uint16Vector: tflite.Uint16Vector,
        tflite.SparseIndexVector.Uint8Vector: tflite.Uint8Vector,
    }
    if kind not in vector_types:
        raise ConversionError(f"unknown sparse index vector type {kind}")
    vector = vector_types[kind]()
    vector.Init(table.Bytes, table.Pos)  # type: ignore[attr-defined]
    return vector.ValuesAsNumpy().astype(np.int64)  # type: ignore[attr-defined]


def _read_sparsity(
    sparsity: tflite.SparsityParameters,
) -> tuple[list[SparseLevel], list[int], list[int]]:
    levels: list[SparseLevel] = []
    for i in range(sparsity.DimMetadataLength()):
        meta = sparsity.DimMetadata(i)
        if meta.Format() == tflite.DimensionType.DENSE:
            levels.append(SparseLevel(dense_size=meta.DenseSize()))
        else:
            levels.append(
                SparseLevel(
                    segments=_index_vector(meta.ArraySegmentsType(), meta.ArraySegments()),
                    indices=_index_vector(meta.ArrayIndicesType(), meta.ArrayIndices()),
                )
            )
    traversal = [int(v) for v in _int_vector(sparsity, "TraversalOrder")]
    block_map = [int(v) for v in _int_vector(sparsity, "BlockMap")]
    return levels, traversal, block_map


def _int_vector(table: object, field: str) -> NDArray[np.int32]:
    # flatbuffers' AsNumpy returns the int 0 for an absent vector.
    if getattr(table, f"{field}IsNone")():
        return np.zeros(0, dtype=np.int32)
    return np.asarray(getattr(table, f"{field}AsNumpy")(), dtype=np.int32)


# ---------------------------------------------------------------------------------------------
# Reading the flatbuffer


@dataclass
class _TensorInfo:
    name: str
    shape: tuple[int, ...]
    dtype: type[np.generic]
    constant: NDArray[np.generic] | None


@dataclass
class _OperatorInfo:
    index: int
    name: str
    inputs: list[int]  # -1 marks an omitted optional input
    outputs: list[int]
    options: Any  # a tflite.*Options accessor (untyped generated code), or None


def _builtin_options(op: tflite.Operator, name: str) -> Any:
    table = op.BuiltinOptions()
    if table is None:
        return None
    class_name = {
        "ADD": "AddOptions",
        "CONCATENATION": "ConcatenationOptions",
        "CONV_2D": "Conv2DOptions",
        "DEPTHWISE_CONV_2D": "DepthwiseConv2DOptions",
        "DEPTH_TO_SPACE": "DepthToSpaceOptions",
        "MAX_POOL_2D": "Pool2DOptions",
        "RESIZE_BILINEAR": "ResizeBilinearOptions",
    }.get(name)
    if class_name is None:
        return None
    options = getattr(tflite, class_name)()
    options.Init(table.Bytes, table.Pos)
    return options


def _read_model(
    model_bytes: bytes,
) -> tuple[list[_TensorInfo], list[_OperatorInfo], list[int], list[int]]:
    model = tflite.Model.GetRootAs(model_bytes, 0)
    if model.SubgraphsLength() != 1:
        raise ConversionError(f"expected one subgraph, found {model.SubgraphsLength()}")
    graph = model.Subgraphs(0)

    tensors: list[_TensorInfo] = []
    for i in range(graph.TensorsLength()):
        tensor = graph.Tensors(i)
        if tensor.Type() not in _TFLITE_DTYPES:
            raise ConversionError(f"tensor {tensor.Name()!r} has unsupported type {tensor.Type()}")
        dtype = _TFLITE_DTYPES[tensor.Type()]
        shape = tuple(int(d) for d in _int_vector(tensor, "Shape"))
        buffer = model.Buffers(tensor.Buffer())
        raw: NDArray[np.uint8] | None = None
        if buffer.DataLength() > 0:
            raw = buffer.DataAsNumpy()
        elif buffer.Offset() > 1:  # large models keep the data after the flatbuffer
            raw = np.frombuffer(model_bytes, np.uint8, buffer.Size(), buffer.Offset())
        constant: NDArray[np.generic] | None = None
        if raw is not None:
            values = np.frombuffer(raw.tobytes(), dtype=dtype)
            sparsity = tensor.Sparsity()
            if sparsity is not None:
                levels, traversal, block_map = _read_sparsity(sparsity)
                constant = densify(values, levels, traversal, block_map, shape)
            else:
                constant = values.reshape(shape)
        tensors.append(_TensorInfo(tensor.Name().decode(), shape, dtype, constant))

    operators: list[_OperatorInfo] = []
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        name = opcode2name(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()))
        if name not in SUPPORTED_OPERATORS:
            raise ConversionError(f"operator {name} (#{i}) is not supported by this converter")
        operators.append(
            _OperatorInfo(
                index=i,
                name=name,
                inputs=[int(v) for v in _int_vector(op, "Inputs")],
                outputs=[int(v) for v in _int_vector(op, "Outputs")],
                options=_builtin_options(op, name),
            )
        )
    inputs = [int(v) for v in _int_vector(graph, "Inputs")]
    outputs = [int(v) for v in _int_vector(graph, "Outputs")]
    return tensors, operators, inputs, outputs


# ---------------------------------------------------------------------------------------------
# Building the ONNX graph


def _same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TFLite SAME padding: the odd pixel goes after (bottom/right)."""
    effective_kernel = (kernel - 1) * dilation + 1
    out = (size + stride - 1) // stride
    total = max((out - 1) * stride + effective_kernel - size, 0)
    return total // 2, total - total // 2


def _is_trivial_permutation(shape: Sequence[int], perm: Sequence[int]) -> bool:
    """True when the transpose only moves size-1 axes, so a Reshape does the same job."""
    moved = [axis for axis in perm if shape[axis] != 1]
    return moved == sorted(moved)


class _GraphBuilder:
    def __init__(
        self,
        tensors: list[_TensorInfo],
        operators: list[_OperatorInfo],
        graph_inputs: list[int],
        graph_outputs: list[int],
    ) -> None:
        self.tensors = tensors
        self.operators = operators
        self.graph_inputs = graph_inputs
        self.graph_outputs = graph_outputs
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.constants: dict[int, NDArray[np.generic]] = {
            i: t.constant for i, t in enumerate(tensors) if t.constant is not None
        }
        self.onnx_names: dict[int, str] = {}  # tensor index -> ONNX value (NCHW when 4-D)
        self.nhwc_views: dict[int, str] = {}  # cached NHWC views of NCHW values
        self.folded_pads: dict[int, tuple[int, list[int]]] = {}  # PAD output -> (src, pads)
        self.shared_constants: dict[tuple[str, str, tuple[int, ...], bytes], str] = {}
        self.deferred_resizes: dict[int, _OperatorInfo] = {}  # resize output -> RESIZE op
        self.used_names: set[str] = {tensors[i].name for i in graph_inputs + graph_outputs}
        self.consumers: dict[int, list[_OperatorInfo]] = {}
        for op in operators:
            for tensor_index in op.inputs:
                if tensor_index >= 0:
                    self.consumers.setdefault(tensor_index, []).append(op)

    # -- naming and small helpers --------------------------------------------------------------

    def fresh_name(self, base: str) -> str:
        name, suffix = base, 1
        while name in self.used_names:
            name, suffix = f"{base}__{suffix}", suffix + 1
        self.used_names.add(name)
        return name

    def add_initializer(self, base: str, value: NDArray[np.generic]) -> str:
        name = self.fresh_name(base)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def add_node(self, op_type: str, inputs: Sequence[str], output: str, **attrs: Any) -> str:
        self.nodes.append(
            helper.make_node(op_type, list(inputs), [output], name=f"{op_type}:{output}", **attrs)
        )
        return output

    def output_name(self, tensor_index: int) -> str:
        """Name for the ONNX value holding a TFLite tensor in its converted layout."""
        tensor = self.tensors[tensor_index]
        if tensor_index in self.graph_outputs and len(tensor.shape) != 4:
            return tensor.name  # graph outputs keep their TFLite names
        suffix = "/nchw" if len(tensor.shape) == 4 else ""
        return self.fresh_name(tensor.name + suffix)

    def is_nchw(self, tensor_index: int) -> bool:
        return len(self.tensors[tensor_index].shape) == 4

    def value(self, tensor_index: int) -> str:
        """The ONNX value of a TFLite tensor: NCHW when 4-D, a constant if it is one."""
        if tensor_index in self.onnx_names:
            return self.onnx_names[tensor_index]
        if tensor_index in self.constants:
            constant = self.constant_f32(tensor_index)
            if constant.ndim == 4:
                constant = constant.transpose(NHWC_TO_NCHW)
            name = self.add_initializer(self.tensors[tensor_index].name, constant)
            self.onnx_names[tensor_index] = name
            return name
        raise ConversionError(f"tensor {self.tensors[tensor_index].name!r} is never produced")

    def nhwc_value(self, tensor_index: int) -> str:
        """The tensor in TFLite's own layout (a transpose of the NCHW value when 4-D)."""
        if not self.is_nchw(tensor_index):
            return self.value(tensor_index)
        if tensor_index not in self.nhwc_views:
            tensor = self.tensors[tensor_index]
            name = self.fresh_name(tensor.name + "/nhwc")
            self.nhwc_views[tensor_index] = self.relayout(
                self.value(tensor_index), _nchw_shape(tensor.shape), NCHW_TO_NHWC, name
            )
        return self.nhwc_views[tensor_index]

    def relayout(
        self, source: str, source_shape: Sequence[int], perm: Sequence[int], output: str
    ) -> str:
        if _is_trivial_permutation(source_shape, perm):
            target = [source_shape[axis] for axis in perm]
            shape = self.shared_constant("shape", np.asarray(target, np.int64))
            return self.add_node("Reshape", [source, shape], output)
        return self.add_node("Transpose", [source], output, perm=list(perm))

    def constant_f32(self, tensor_index: int) -> NDArray[np.float32]:
        value = self.constants[tensor_index]
        if value.dtype != np.float32:
            raise ConversionError(
                f"constant {self.tensors[tensor_index].name!r} is {value.dtype}, not float32"
            )
        return value.astype(np.float32, copy=False)

    def require_constant(self, tensor_index: int, role: str) -> NDArray[np.generic]:
        if tensor_index not in self.constants:
            raise ConversionError(f"{role} {self.tensors[tensor_index].name!r} must be constant")
        return self.constants[tensor_index]

    def shared_constant(self, base: str, value: NDArray[np.generic]) -> str:
        """An initializer reused by every node that needs the same small constant."""
        key = (base, value.dtype.str, value.shape, value.tobytes())
        if key not in self.shared_constants:
            self.shared_constants[key] = self.add_initializer(base, value)
        return self.shared_constants[key]

    def activation(
        self, value: str, fused: int, output: str, *, standalone_channels: int | None = None
    ) -> str:
        """Apply a TFLite fused activation to ``value``, naming the result ``output``.

        ``standalone_channels`` is the channel count when ``value`` is a 4-D NCHW tensor that
        does not come straight out of a Conv (an Add, a Resize): see the Clip case.
        """
        kinds = tflite.ActivationFunctionType
        if fused == kinds.NONE:
            return value
        if fused == kinds.RELU:
            return self.add_node("Relu", [value], output)
        if fused == kinds.TANH:
            return self.add_node("Tanh", [value], output)
        clip_ranges = {kinds.RELU6: (0.0, 6.0), kinds.RELU_N1_TO_1: (-1.0, 1.0)}
        if fused not in clip_ranges:
            raise ConversionError(f"fused activation {fused} is not supported")
        low, high = clip_ranges[fused]
        bounds = [
            self.shared_constant(f"clip_min_{low:g}", np.asarray(low, np.float32)),
            self.shared_constant(f"clip_max_{high:g}", np.asarray(high, np.float32)),
        ]
        if standalone_channels is not None and standalone_channels % NCHWC_BLOCK == 0:
            # onnxruntime fuses a Clip into the Conv before it, then runs Convs in its NCHWc
            # layout, which has no Clip of its own: a bare Clip after an Add or Resize forces
            # a reorder to NCHW and back around every residual block. An identity depthwise
            # 1x1 convolution carrying the Clip stays NCHWc, is exact (x*1+0) and costs about
            # what the Clip did.
            weights = np.ones((standalone_channels, 1, 1, 1), np.float32)
            bias = np.zeros(standalone_channels, np.float32)
            identity_inputs = [
                value,
                self.shared_constant("identity_weights", weights),
                self.shared_constant("identity_bias", bias),
            ]
            value = self.add_node(
                "Conv",
                identity_inputs,
                self.fresh_name(output + "/identity"),
                kernel_shape=[1, 1],
                group=standalone_channels,
            )
        return self.add_node("Clip", [value, *bounds], output)

    def emit_with_activation(
        self,
        op: _OperatorInfo,
        op_type: str,
        inputs: Sequence[str],
        fused: int,
        *,
        standalone_channels: int | None = None,
        **attrs: Any,
    ) -> None:
        output = self.output_name(op.outputs[0])
        if fused == tflite.ActivationFunctionType.NONE:
            self.add_node(op_type, inputs, output, **attrs)
        else:
            pre_activation = self.add_node(
                op_type, inputs, self.fresh_name(output + "/pre_act"), **attrs
            )
            self.activation(pre_activation, fused, output, standalone_channels=standalone_channels)
        self.onnx_names[op.outputs[0]] = output

    # -- the graph -----------------------------------------------------------------------------

    def build(self, graph_name: str) -> onnx.ModelProto:
        input_protos = []
        for index in self.graph_inputs:
            tensor = self.tensors[index]
            input_protos.append(_value_info(tensor.name, tensor.dtype, tensor.shape))
            if self.is_nchw(index):
                # The one layout change on the way in: callers feed NHWC images.
                nchw = self.fresh_name(tensor.name + "/nchw")
                self.onnx_names[index] = self.add_node(
                    "Transpose", [tensor.name], nchw, perm=list(NHWC_TO_NCHW)
                )
            else:
                self.onnx_names[index] = tensor.name

        # Fold the weight decoding first, so every converter sees its weights as constants
        # whatever the operator order (the detector decodes a weight after the op before
        # its consumer has been visited).
        runtime_operators = []
        for op in self.operators:
            if op.name in _FOLDED_OPERATORS:
                self.fold(op)
            else:
                runtime_operators.append(op)
        for op in runtime_operators:
            getattr(self, f"convert_{op.name.lower()}")(op)

        output_protos = []
        for index in self.graph_outputs:
            tensor = self.tensors[index]
            output_protos.append(_value_info(tensor.name, tensor.dtype, tensor.shape))
            source = self.value(index)
            if self.is_nchw(index):
                # The layout change on the way out, only where the output is 4-D.
                self.relayout(source, _nchw_shape(tensor.shape), NCHW_TO_NHWC, tensor.name)
            elif source != tensor.name:
                self.add_node("Identity", [source], tensor.name)

        graph = helper.make_graph(
            self.nodes, graph_name, input_protos, output_protos, self.initializers
        )
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", ONNX_OPSET)],
            producer_name="stridelab.ml_models.tflite_to_onnx",
            producer_version=CONVERTER_VERSION,
        )
        model.ir_version = 8  # the IR of opset 17: loadable by every onnxruntime we support
        return model

    def fold(self, op: _OperatorInfo) -> None:
        """Evaluate an operator on constants at conversion time."""
        if op.name == "DENSIFY":
            # Sparse tensors are densified when read, so DENSIFY is the identity here.
            result = self.require_constant(op.inputs[0], "DENSIFY input")
        elif op.name == "DEQUANTIZE":
            source = self.require_constant(op.inputs[0], "DEQUANTIZE input")
            if source.dtype != np.float16:
                raise ConversionError(f"DEQUANTIZE from {source.dtype} is not supported")
            result = source.astype(np.float32)
        else:
            raise ConversionError(f"{op.name} (#{op.index}) on constants only is not supported")
        output = self.tensors[op.outputs[0]]
        if tuple(result.shape) != output.shape:
            raise ConversionError(f"folded {op.name} gives {result.shape}, expected {output.shape}")
        self.constants[op.outputs[0]] = result

    # -- operators -----------------------------------------------------------------------------

    def conv_input(self, tensor_index: int) -> tuple[str, list[int], tuple[int, ...]]:
        """A convolution's input, its extra spatial pads and NHWC shape, seeing through a
        folded zero PAD."""
        if tensor_index in self.folded_pads:
            source, pads = self.folded_pads[tensor_index]
            return self.value(source), pads, self.tensors[source].shape
        return self.value(tensor_index), [0, 0, 0, 0], self.tensors[tensor_index].shape

    def convert_conv_2d(self, op: _OperatorInfo) -> None:
        self.convert_convolution(op, depthwise=False)

    def convert_depthwise_conv_2d(self, op: _OperatorInfo) -> None:
        self.convert_convolution(op, depthwise=True)

    def convert_convolution(self, op: _OperatorInfo, *, depthwise: bool) -> None:
        options = op.options
        assert options is not None
        resize = self.deferred_resizes.get(op.inputs[0])
        if resize is not None:
            # 1x1 and stride 1 (resize_commutes_with_consumer): no padding to work out.
            source, extra_pads = self.value(resize.inputs[0]), [0, 0, 0, 0]
            input_shape = self.tensors[op.inputs[0]].shape
        else:
            source, extra_pads, input_shape = self.conv_input(op.inputs[0])
        kernel = self.constant_f32_checked(op.inputs[1], "convolution weights")
        if depthwise:
            # [1, KH, KW, C*M] -> [C*M, 1, KH, KW]; output channel c*M+m is group c's m-th.
            weights = kernel.transpose(3, 0, 1, 2)
            group = input_shape[3]
        else:
            # [O, KH, KW, I] -> [O, I, KH, KW]
            weights = kernel.transpose(0, 3, 1, 2)
            group = 1
        kernel_h, kernel_w = weights.shape[2], weights.shape[3]
        strides = [options.StrideH(), options.StrideW()]
        dilations = [options.DilationHFactor(), options.DilationWFactor()]
        pads = self.spatial_pads(
            options.Padding(), input_shape, (kernel_h, kernel_w), strides, dilations
        )
        pads = [p + e for p, e in zip(pads, extra_pads, strict=True)]
        name = self.tensors[op.outputs[0]].name
        inputs = [source, self.add_initializer(name + "/weights", weights)]
        if len(op.inputs) > 2 and op.inputs[2] >= 0:
            bias = self.constant_f32_checked(op.inputs[2], "convolution bias")
            inputs.append(self.add_initializer(name + "/bias", bias))
        if resize is not None:
            self.convolve_then_resize(op, resize, inputs)
            return
        self.emit_with_activation(
            op,
            "Conv",
            inputs,
            options.FusedActivationFunction(),
            kernel_shape=[kernel_h, kernel_w],
            strides=strides,
            dilations=dilations,
            pads=pads,
            group=group,
        )

    def constant_f32_checked(self, tensor_index: int, role: str) -> NDArray[np.float32]:
        self.require_constant(tensor_index, role)
        return self.constant_f32(tensor_index)

    def spatial_pads(
        self,
        padding: int,
        input_shape: Sequence[int],
        kernel: Sequence[int],
        strides: Sequence[int],
        dilations: Sequence[int],
    ) -> list[int]:
        """ONNX pads [top, left, bottom, right] for TFLite SAME/VALID on an NHWC shape."""
        if padding == tflite.Padding.VALID:
            return [0, 0, 0, 0]
        top, bottom = _same_padding(input_shape[1], kernel[0], strides[0], dilations[0])
        left, right = _same_padding(input_shape[2], kernel[1], strides[1], dilations[1])
        return [top, left, bottom, right]

    def convert_max_pool_2d(self, op: _OperatorInfo) -> None:
        options = op.options
        assert options is not None
        kernel = [options.FilterHeight(), options.FilterWidth()]
        strides = [options.StrideH(), options.StrideW()]
        input_shape = self.tensors[op.inputs[0]].shape
        pads = self.spatial_pads(options.Padding(), input_shape, kernel, strides, [1, 1])
        self.emit_with_activation(
            op,
            "MaxPool",
            [self.value(op.inputs[0])],
            options.FusedActivationFunction(),
            kernel_shape=kernel,
            strides=strides,
            pads=pads,
        )

    def convert_add(self, op: _OperatorInfo) -> None:
        options = op.options
        fused = options.FusedActivationFunction() if options is not None else 0
        output_shape = self.tensors[op.outputs[0]].shape
        inputs = [self.broadcast_operand(i, len(output_shape)) for i in op.inputs]
        channels = output_shape[3] if len(output_shape) == 4 else None
        self.emit_with_activation(op, "Add", inputs, fused, standalone_channels=channels)

    def broadcast_operand(self, tensor_index: int, output_rank: int) -> str:
        """An elementwise operand, laid out to broadcast against an NCHW result."""
        if output_rank != 4 or self.is_nchw(tensor_index):
            return self.value(tensor_index)
        if tensor_index in self.constants:
            # NumPy broadcasting aligns trailing axes: pad to NHWC rank, then go NCHW.
            constant = self.constant_f32(tensor_index)
            constant = constant.reshape((1,) * (4 - constant.ndim) + constant.shape)
            return self.add_initializer(
                self.tensors[tensor_index].name + "/nchw", constant.transpose(NHWC_TO_NCHW)
            )
        raise ConversionError("broadcasting a lower-rank activation against a 4-D one")

    def convert_logistic(self, op: _OperatorInfo) -> None:
        self.emit_with_activation(op, "Sigmoid", [self.value(op.inputs[0])], 0)

    def convert_pad(self, op: _OperatorInfo) -> None:
        paddings = self.require_constant(op.inputs[1], "PAD paddings").astype(np.int64)
        paddings = paddings.reshape(-1, 2)  # rows are [before, after] per NHWC axis
        source_index, output_index = op.inputs[0], op.outputs[0]
        rank = len(self.tensors[source_index].shape)
        if rank == 4:
            paddings = paddings[list(NHWC_TO_NCHW)]
            consumers = self.consumers.get(output_index, [])
            spatial_only = not paddings[:2].any()
            feeds_only_convs = bool(consumers) and all(
                c.name in ("CONV_2D", "DEPTHWISE_CONV_2D")
                and c.inputs[0] == output_index
                and output_index not in c.inputs[1:]
                for c in consumers
            )
            if spatial_only and feeds_only_convs and output_index not in self.graph_outputs:
                # Zero padding is what Conv pads with: let the convolution do it.
                top, bottom = paddings[2]
                left, right = paddings[3]
                pads = [int(top), int(left), int(bottom), int(right)]
                self.folded_pads[output_index] = (source_index, pads)
                return
        onnx_pads = np.concatenate([paddings[:, 0], paddings[:, 1]]).astype(np.int64)
        pads_name = self.add_initializer(self.tensors[output_index].name + "/pads", onnx_pads)
        self.emit_with_activation(op, "Pad", [self.value(source_index), pads_name], 0)

    def convert_reshape(self, op: _OperatorInfo) -> None:
        source_index, output_index = op.inputs[0], op.outputs[0]
        target_shape = self.tensors[output_index].shape
        # TFLite reshapes in NHWC element order: flatten from the NHWC view.
        source = self.nhwc_value(source_index)
        output = self.output_name(output_index)
        shape = self.shared_constant("shape", np.asarray(target_shape, np.int64))
        if len(target_shape) == 4:
            nhwc = self.add_node("Reshape", [source, shape], self.fresh_name(output + "/nhwc"))
            self.relayout(nhwc, target_shape, NHWC_TO_NCHW, output)
        else:
            self.add_node("Reshape", [source, shape], output)
        self.onnx_names[output_index] = output

    def convert_concatenation(self, op: _OperatorInfo) -> None:
        options = op.options
        assert options is not None
        output_shape = self.tensors[op.outputs[0]].shape
        axis = options.Axis() % len(output_shape)
        if len(output_shape) == 4:
            axis = NHWC_TO_NCHW.index(axis)
        inputs = [self.value(i) for i in op.inputs]
        self.emit_with_activation(
            op, "Concat", inputs, options.FusedActivationFunction(), axis=axis
        )

    def convert_depth_to_space(self, op: _OperatorInfo) -> None:
        options = op.options
        assert options is not None
        # TFLite's channel order (block row, block column, channel) is ONNX's DCR mode.
        self.emit_with_activation(
            op,
            "DepthToSpace",
            [self.value(op.inputs[0])],
            0,
            blocksize=options.BlockSize(),
            mode="DCR",
        )

    def convert_resize_bilinear(self, op: _OperatorInfo) -> None:
        if self.resize_commutes_with_consumer(op):
            # Emitted by the consuming convolution: see convolve_then_resize.
            self.deferred_resizes[op.outputs[0]] = op
            return
        inputs, attributes = self.resize_arguments(op, self.value(op.inputs[0]))
        self.emit_with_activation(op, "Resize", inputs, 0, **attributes)

    def resize_arguments(
        self, resize: _OperatorInfo, source: str, channels: int | None = None
    ) -> tuple[list[str], dict[str, Any]]:
        """Inputs and attributes of an ONNX Resize doing what a RESIZE_BILINEAR does."""
        options = resize.options
        assert options is not None
        batch, height, width, resize_channels = self.tensors[resize.outputs[0]].shape
        if options.AlignCorners():
            mode = "align_corners"
        elif options.HalfPixelCenters():
            mode = "half_pixel"
        else:
            mode = "asymmetric"
        sizes = [batch, channels or resize_channels, height, width]
        inputs = [source, "", "", self.shared_constant("sizes", np.asarray(sizes, np.int64))]
        return inputs, {"mode": "linear", "coordinate_transformation_mode": mode}

    def resize_commutes_with_consumer(self, resize: _OperatorInfo) -> bool:
        """Whether the resize only feeds a 1x1 convolution that narrows the channels.

        Bilinear interpolation and a 1x1 convolution are both linear, and interpolation
        weights sum to one so the bias commutes too: convolving the small tensor first
        does a quarter of the work (the detector's 1152->192 head at 7x7, not 14x14).
        """
        output = resize.outputs[0]
        consumers = self.consumers.get(output, [])
        if output in self.graph_outputs or len(consumers) != 1:
            return False
        conv = consumers[0]
        if conv.name != "CONV_2D" or conv.inputs[0] != output or output in conv.inputs[1:]:
            return False
        options = conv.options
        assert options is not None
        if conv.inputs[1] not in self.constants:
            return False
        out_channels, kernel_h, kernel_w, in_channels = self.constants[conv.inputs[1]].shape
        return (
            (kernel_h, kernel_w) == (1, 1)
            and (options.StrideH(), options.StrideW()) == (1, 1)
            and out_channels <= in_channels
        )

    def convolve_then_resize(
        self, conv: _OperatorInfo, resize: _OperatorInfo, conv_inputs: list[str]
    ) -> None:
        """Emit RESIZE_BILINEAR -> 1x1 CONV_2D as Conv -> Resize -> activation."""
        options = conv.options
        assert options is not None
        name = self.tensors[conv.outputs[0]].name
        channels = self.tensors[conv.outputs[0]].shape[3]
        low_resolution = self.add_node(
            "Conv", conv_inputs, self.fresh_name(name + "/nchw/before_resize"), kernel_shape=[1, 1]
        )
        resize_inputs, attributes = self.resize_arguments(resize, low_resolution, channels)
        self.emit_with_activation(
            conv,
            "Resize",
            resize_inputs,
            options.FusedActivationFunction(),
            standalone_channels=channels,
            **attributes,
        )


def _nchw_shape(nhwc_shape: Sequence[int]) -> list[int]:
    return [nhwc_shape[axis] for axis in NHWC_TO_NCHW]


def _value_info(name: str, dtype: type[np.generic], shape: Sequence[int]) -> onnx.ValueInfoProto:
    elem_type = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    return helper.make_tensor_value_info(name, elem_type, list(shape))


def prune_outputs(model: onnx.ModelProto, keep: Iterable[str]) -> onnx.ModelProto:
    """A copy of ``model`` computing only the outputs named in ``keep``.

    The pose pipeline does not need the landmark net's segmentation head, which is about
    half of its cost.
    """
    keep = list(keep)
    pruned = onnx.ModelProto()
    pruned.CopyFrom(model)
    graph = pruned.graph
    known = {o.name for o in graph.output}
    if unknown := set(keep) - known:
        raise ValueError(f"unknown outputs {sorted(unknown)}; the model has {sorted(known)}")
    needed = set(keep)
    kept_nodes: list[onnx.NodeProto] = []
    for node in reversed(graph.node):
        if any(o in needed for o in node.output):
            kept_nodes.append(node)
            needed.update(i for i in node.input if i)
    kept_outputs = [o for o in graph.output if o.name in keep]
    kept_initializers = [t for t in graph.initializer if t.name in needed]
    del graph.node[:]
    graph.node.extend(reversed(kept_nodes))
    del graph.output[:]
    graph.output.extend(kept_outputs)
    del graph.initializer[:]
    graph.initializer.extend(kept_initializers)
    return pruned


def convert_model(tflite_bytes: bytes, graph_name: str = "model") -> onnx.ModelProto:
    """Convert the bytes of a ``.tflite`` file to an in-memory, checked ONNX model."""
    tensors, operators, inputs, outputs = _read_model(tflite_bytes)
    model = _GraphBuilder(tensors, operators, inputs, outputs).build(graph_name)
    onnx.checker.check_model(model, full_check=True)
    return model


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new, never half.

    The temporary file sits beside the target (same file system, so the rename is atomic)
    and is created with the usual umask-derived permissions.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with temporary.open("xb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def convert(
    tflite_path: Path | str, onnx_path: Path | str, *, outputs: Sequence[str] | None = None
) -> None:
    """Convert ``tflite_path`` to ``onnx_path``; ``outputs`` keeps only the named outputs.

    The file appears atomically, so a reader never sees a half-written model.
    """
    tflite_path, onnx_path = Path(tflite_path), Path(onnx_path)
    model = convert_model(tflite_path.read_bytes(), graph_name=tflite_path.stem)
    if outputs is not None:
        model = prune_outputs(model, outputs)
    write_atomically(onnx_path, model.SerializeToString())
