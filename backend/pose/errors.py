"""Errors of the pose engine, each with a message a person can act on.

Kept free of heavy imports so that callers (command line, job system) can catch them without
loading PyAV or onnxruntime.
"""

from __future__ import annotations


class PoseError(Exception):
    """Base class of the pose engine's errors."""


class VideoError(PoseError):
    """A clip that cannot be read: missing, not a video, unsupported codec, corrupt."""


class ModelsMissingError(PoseError):
    """The ONNX pose models are not provisioned."""
