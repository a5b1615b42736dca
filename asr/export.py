"""Export a model folder's acoustic model for runtimes lighter than TensorFlow.

``onnx`` (the default and the one transcription uses): tf2onnx converts the
Keras model's traced call, with any number of utterances and frames, to
``acoustic.onnx`` beside ``model.keras``; ``acoustic.json`` records what it
was made from (the SHA-256 of ``model.keras``, so a retrained folder is never
run with an old graph), the time steps that give its output lengths, and the
largest difference from Keras measured on a padded batch at export.
:mod:`asr.networks` then runs it in ONNX Runtime without TensorFlow.
``int8`` quantises its weights (ONNX Runtime's dynamic quantisation).

``streaming``: a ``streaming_gru`` model's weights as NumPy arrays,
``streaming.npz`` (:mod:`asr.streaming_network`), which live transcription
(:mod:`asr.streaming`) runs a chunk at a time without TensorFlow.

``savedmodel``: a TensorFlow SavedModel with a ``serving_default`` signature
(``features`` (batch, frames, dim) float32 in, ``log_probs`` out), for
TensorFlow Serving.

Why not TFLite (LiteRT): the TFLite converter cannot lower a GRU over a
dynamic number of frames to TFLite's built-in ops (``tf.TensorListReserve``
fails to legalise); it needs the TensorFlow "select ops", which the
``ai-edge-litert`` runtime does not carry. README "Exported models" has the
measurements.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from asr.errors import ModelError
from asr.networks import EXPORT_INFO_FILE, KERAS_FILE, ONNX_FILE, OnnxNetwork, file_sha256, load_keras_model
from asr.streaming_network import STREAMING_FILE, from_keras

FORMATS = ("onnx", "savedmodel", "streaming")
QUANTIZATIONS = ("int8",)
ONNX_OPSET = 17
SAVED_MODEL_DIR = "saved_model"
CHECK_SEED = 0
CHECK_LENGTHS = (301, 173, 64)  # frames of the padded batch that checks an export against Keras


@dataclass(frozen=True)
class ExportReport:
    """What an export wrote and how close it is to Keras.

    Attributes
    ----------
    path : Path
        The file or folder written.
    max_abs_difference : float
        Largest |log-probability difference| from Keras on a padded check batch.
    bytes : int
        Size on disk.
    """

    path: Path
    max_abs_difference: float
    bytes: int


def export_model(folder: str | os.PathLike, *, format: str = "onnx", quantize: str | None = None,
                 output: str | os.PathLike | None = None) -> ExportReport:
    """Export the acoustic model of a model folder.

    Parameters
    ----------
    folder : str or PathLike
        A model folder with ``model.keras``.
    format : {"onnx", "savedmodel", "streaming"}
    quantize : {"int8"} or None
        ONNX only: dynamic int8 quantisation of the weights.
    output : str or PathLike, optional
        Where to write; by default ``acoustic.onnx`` in the folder (what
        transcription loads), ``saved_model/`` or ``streaming.npz`` in it.

    Returns
    -------
    ExportReport

    Raises
    ------
    ModelError
        If the folder has no loadable ``model.keras``.
    ValueError
        If ``format`` or ``quantize`` is not one offered.
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {format!r}")
    if quantize is not None and (quantize not in QUANTIZATIONS or format != "onnx"):
        raise ValueError(f"quantize must be one of {QUANTIZATIONS} with format 'onnx', "
                         f"got {quantize!r} with {format!r}")
    folder = Path(folder)
    model = load_keras_model(folder / KERAS_FILE)
    if format == "savedmodel":
        return _export_saved_model(model, Path(output) if output else folder / SAVED_MODEL_DIR)
    if format == "streaming":
        return _export_streaming(model, folder, Path(output) if output else folder / STREAMING_FILE)
    return _export_onnx(model, folder, Path(output) if output else folder / ONNX_FILE, quantize=quantize)


def check_batch(input_dim: int) -> np.ndarray:
    """A zero-padded batch of random frames, (len(CHECK_LENGTHS), max length, input_dim) float32."""
    rng = np.random.default_rng(CHECK_SEED)
    batch = np.zeros((len(CHECK_LENGTHS), max(CHECK_LENGTHS), input_dim), np.float32)
    for row, length in enumerate(CHECK_LENGTHS):
        batch[row, :length] = rng.standard_normal((length, input_dim))
    return batch


def _traced(model):
    """The model's inference call traced for any batch and length (TensorFlow)."""
    import tensorflow as tf

    signature = [tf.TensorSpec([None, None, model.input_shape[-1]], tf.float32, name="features")]
    return tf.function(lambda features: {"log_probs": model(features, training=False)}, input_signature=signature)


def _export_onnx(model, folder: Path, path: Path, *, quantize: str | None) -> ExportReport:
    """tf2onnx conversion, optional quantisation, the check against Keras, and acoustic.json beside the graph."""
    import tf2onnx

    from asr.models import time_steps

    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent) as scratch:
        converted = Path(scratch) / "converted.onnx"
        function = _traced(model)
        tf2onnx.convert.from_function(function, input_signature=function.input_signature, opset=ONNX_OPSET,
                                      output_path=str(converted))
        if quantize == "int8":
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantized = Path(scratch) / "quantized.onnx"
            quantize_dynamic(str(converted), str(quantized), weight_type=QuantType.QInt8)
            converted = quantized
        steps = time_steps(model)
        network = OnnxNetwork(path=converted, input_dim=int(model.input_shape[-1]),
                              num_classes=int(model.output_shape[-1]), time_steps=steps)
        difference = _max_difference(model, network.log_probs, steps)
        os.replace(converted, path)
    info = {"format": "onnx", "file": path.name, "opset": ONNX_OPSET, "converter": f"tf2onnx {tf2onnx.__version__}",
            "quantize": quantize, "input_dim": network.input_dim, "num_classes": network.num_classes,
            "parameters": int(model.count_params()),
            "time_steps": [step.to_dict() for step in steps], "max_abs_difference": difference,
            "model_sha256": file_sha256(folder / KERAS_FILE) if (folder / KERAS_FILE).is_file() else None}
    if path.parent == folder:
        (folder / EXPORT_INFO_FILE).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    else:
        path.with_suffix(".json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return ExportReport(path=path, max_abs_difference=difference, bytes=path.stat().st_size)


def _max_difference(model, run, steps) -> float:
    """Largest |difference| between Keras and ``run`` over each utterance's own output frames."""
    from asr.frames import output_frames

    batch = check_batch(int(model.input_shape[-1]))
    expected = np.asarray(model(batch, training=False))
    actual = run(batch)
    if actual.shape != expected.shape:
        raise ModelError(f"the exported graph gives shape {actual.shape}, Keras {expected.shape}")
    lengths = output_frames(steps, np.array(CHECK_LENGTHS))
    return float(max(np.abs(actual[row, :n] - expected[row, :n]).max() for row, n in enumerate(lengths)))


def _export_streaming(model, folder: Path, path: Path) -> ExportReport:
    """The NumPy arrays of a streaming model, checked utterance by utterance against Keras."""
    from asr.models import time_steps

    try:
        network = from_keras(model)
    except ValueError as error:
        raise ModelError(f"{folder}: {error}") from error

    def run(batch):
        rows = [network.log_probs(features[:length]) for features, length in zip(batch, CHECK_LENGTHS)]
        padded = np.zeros((len(rows), max(len(row) for row in rows), network.num_classes), np.float32)
        for i, row in enumerate(rows):
            padded[i, :len(row)] = row
        return padded

    difference = _max_difference(model, run, time_steps(model))
    path.parent.mkdir(parents=True, exist_ok=True)
    network.save(path, model_sha256=file_sha256(folder / KERAS_FILE) if (folder / KERAS_FILE).is_file() else "")
    return ExportReport(path=path, max_abs_difference=difference, bytes=path.stat().st_size)


def _export_saved_model(model, path: Path) -> ExportReport:
    """A SavedModel with a serving_default signature, checked by loading it back."""
    import tensorflow as tf

    from asr.models import time_steps

    function = _traced(model)
    module = tf.Module()
    module.model = model
    module.serving = function
    tf.saved_model.save(module, str(path), signatures={"serving_default": function})
    served = tf.saved_model.load(str(path)).signatures["serving_default"]
    difference = _max_difference(model, lambda batch: served(features=tf.constant(batch))["log_probs"].numpy(),
                                 time_steps(model))
    size = sum(file.stat().st_size for file in path.rglob("*") if file.is_file())
    return ExportReport(path=path, max_abs_difference=difference, bytes=size)
