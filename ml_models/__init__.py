"""The pose models: provisioning from the MediaPipe wheel, and our own TFLite->ONNX converter.

* :mod:`ml_models.provision` -- ``ensure_models()`` (``stridelab models fetch``, part of
  ``make install``) puts ``pose_detection.onnx`` and ``pose_landmark_full.onnx`` here;
* :mod:`ml_models.tflite_to_onnx` -- ``convert(tflite_path, onnx_path)`` and
  ``prune_outputs()``.

See ``ml_models/README.md``.
"""
