"""The acoustic network behind one call: normalised features in, log-probabilities out.

Two runtimes give the same numbers:

* :class:`KerasNetwork` runs ``model.keras`` in TensorFlow (what training
  writes and what every model folder has);
* :class:`OnnxNetwork` runs the graph that :func:`asr.export.export_onnx`
  wrote beside it (``acoustic.onnx`` and ``acoustic.json``) in ONNX Runtime,
  without importing TensorFlow: about 0.2 s to load instead of 4-5 s.

:func:`load_network` picks the exported graph when a folder has one that was
made from its current ``model.keras`` and ONNX Runtime is installed.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from asr.errors import ModelError
from asr.files import read_json_object
from asr.frames import TimeStep, output_frames, steps_from_dicts, total_stride

KERAS_FILE = "model.keras"
ONNX_FILE = "acoustic.onnx"
EXPORT_INFO_FILE = "acoustic.json"  # what the exported graph was made from, its time steps and its fidelity
RUNTIMES = ("auto", "onnx", "keras")


@dataclass(frozen=True, eq=False)
class KerasNetwork:
    """A Keras acoustic model, called through one traced function for every batch shape.

    Attributes
    ----------
    model : keras.Model
    """

    model: object
    _forward: object = field(init=False, repr=False)

    def __post_init__(self):
        import tensorflow as tf

        forward = tf.function(tf.autograph.experimental.do_not_convert(lambda x: self.model(x, training=False)),
                              input_signature=[tf.TensorSpec([None, None, self.input_dim], tf.float32)])
        object.__setattr__(self, "_forward", forward)

    @property
    def input_dim(self) -> int:
        """Feature values per frame."""
        return int(self.model.input_shape[-1])

    @property
    def num_classes(self) -> int:
        """Log-probabilities per output frame."""
        return int(self.model.output_shape[-1])

    @property
    def parameters(self) -> int:
        """Weights in the model."""
        return int(self.model.count_params())

    @property
    def time_steps(self) -> tuple[TimeStep, ...]:
        """The model's changes of the time axis."""
        from asr.models import time_steps

        return time_steps(self.model)

    def log_probs(self, features: np.ndarray) -> np.ndarray:
        """Log-probabilities of a zero-padded batch.

        Parameters
        ----------
        features : np.ndarray [shape=(batch, frames, input_dim), float32]
            Normalised features, padded at the end with all-zero frames.

        Returns
        -------
        np.ndarray [shape=(batch, output_frames, num_classes), float32]
        """
        return self._forward(np.asarray(features, dtype=np.float32)).numpy()


@dataclass(frozen=True, eq=False)
class OnnxNetwork:
    """An exported acoustic graph run by ONNX Runtime on the CPU.

    Attributes
    ----------
    path : Path
        The ``.onnx`` file.
    input_dim, num_classes : int
    time_steps : tuple of TimeStep
        Saved at export from the Keras model's layers.
    parameters : int
        Weights of the Keras model it was exported from (0 if not recorded).
    """

    path: Path
    input_dim: int
    num_classes: int
    time_steps: tuple[TimeStep, ...]
    parameters: int = 0
    threads: int = 0  # ONNX Runtime's intra-op threads; 0 lets it choose (one per core)
    _session: object = field(init=False, repr=False)

    def __post_init__(self):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.log_severity_level = 3  # errors only: its warnings are about graph rewrites, not the user's input
        try:
            session = onnxruntime.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # ONNX Runtime raises its own types for a damaged file
            raise ModelError(f"{self.path}: cannot load the exported graph "
                             f"({type(error).__name__}: {error})") from error
        object.__setattr__(self, "_session", session)

    def log_probs(self, features: np.ndarray) -> np.ndarray:
        """Log-probabilities of a zero-padded batch; see :meth:`KerasNetwork.log_probs`."""
        name = self._session.get_inputs()[0].name
        return self._session.run(None, {name: np.asarray(features, dtype=np.float32)})[0]


def output_lengths(network, frames):
    """Output frames of ``network`` (either kind) for inputs of ``frames`` frames."""
    return output_frames(network.time_steps, frames)


def stride_of(network) -> int:
    """Input frames per output frame of ``network``."""
    return total_stride(network.time_steps)


def load_network(folder: str | os.PathLike, *, runtime: str = "auto"):
    """The acoustic network of a model folder, in the runtime asked for.

    Parameters
    ----------
    folder : str or PathLike
        A model folder.
    runtime : {"auto", "onnx", "keras"}
        ``auto``: the exported graph when the folder has one made from its
        current ``model.keras`` and ONNX Runtime is installed, else Keras.
        ``onnx`` insists on the exported graph; ``keras`` ignores it.

    Raises
    ------
    ModelError
        If the graph asked for is missing, stale or unreadable, or
        ``model.keras`` cannot be loaded.
    ValueError
        If ``runtime`` is not one of :data:`RUNTIMES`.
    """
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime must be one of {RUNTIMES}, got {runtime!r}")
    folder = Path(folder)
    if runtime != "keras":
        problem = _export_problem(folder)
        if problem is None:
            return _load_onnx(folder)
        if runtime == "onnx":
            raise ModelError(f"{folder}: cannot run the exported graph: {problem} (make it with `asr export {folder}`)")
    return KerasNetwork(load_keras_model(folder / KERAS_FILE))


def load_keras_model(path: Path):
    """``model.keras`` in Keras' safe mode (no Lambda code, no pickles); ModelError naming it if it cannot be read."""
    import zipfile

    if not zipfile.is_zipfile(path):  # Keras would call it 'File not found'
        raise ModelError(f"{path}: cannot load the acoustic model (not a .keras zip archive: damaged or truncated)")
    import keras

    import asr.models  # noqa: F401  registers our layers for loading

    try:
        return keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as error:  # Keras raises many types for a damaged file
        raise ModelError(f"{path}: cannot load the acoustic model ({type(error).__name__}: {error})") from error


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_export_info(folder: Path) -> dict:
    """The folder's ``acoustic.json``; ModelError naming it if unreadable."""
    return read_json_object(folder / EXPORT_INFO_FILE)


def _export_problem(folder: Path) -> str | None:
    """Why the folder's exported graph cannot be used, or None when it can."""
    if not (folder / ONNX_FILE).is_file() or not (folder / EXPORT_INFO_FILE).is_file():
        return f"no {ONNX_FILE} with its {EXPORT_INFO_FILE}"
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return "ONNX Runtime is not installed (pip install onnxruntime)"
    info = read_export_info(folder)
    if (folder / KERAS_FILE).is_file() and info.get("model_sha256") != file_sha256(folder / KERAS_FILE):
        return f"{ONNX_FILE} was exported from another {KERAS_FILE} (retrained since?)"
    return None


def _load_onnx(folder: Path) -> OnnxNetwork:
    """The folder's exported graph, with the facts saved beside it."""
    info = read_export_info(folder)
    try:
        steps = steps_from_dicts(info["time_steps"])
        input_dim, num_classes = int(info["input_dim"]), int(info["num_classes"])
    except (KeyError, TypeError, ValueError) as error:
        raise ModelError(f"{folder / EXPORT_INFO_FILE}: incomplete ({type(error).__name__}: {error})") from error
    return OnnxNetwork(path=folder / ONNX_FILE, input_dim=input_dim, num_classes=num_classes, time_steps=steps,
                       parameters=int(info.get("parameters", 0)))
