"""A streaming acoustic model run a chunk at a time, in NumPy.

:class:`StreamingNetwork` holds the weights of a ``streaming_gru`` model
(:func:`asr.models.streaming_gru`: a zero-padded strided convolution, batch
normalisation, unidirectional GRUs, a dense layer, log-softmax) as arrays and
computes its log-probabilities on feature frames as they arrive. A
:class:`NetworkStream` carries what one stream needs between chunks: the
input frames the convolution's next window still reads, and each GRU's
state. Fed any split of an utterance's frames and then finished, it gives
the log-probabilities the Keras model gives on the whole utterance (to
float32 rounding), with no TensorFlow at run time.

``asr export`` writes the arrays beside ``model.keras`` as
``streaming.npz`` (with the SHA-256 of the ``model.keras`` they came from);
:func:`load_streaming_network` reads them, or converts the Keras model when
they are missing or stale.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from threadpoolctl import ThreadpoolController

from asr.errors import ModelError
from asr.networks import KERAS_FILE, file_sha256, load_keras_model

STREAMING_FILE = "streaming.npz"  # a streaming model's arrays, beside model.keras
FORMAT_VERSION = 1


@dataclass(frozen=True, eq=False)
class FrontEnd:
    """The zero-padded strided convolution, its batch normalisation folded in, then ReLU.

    Attributes
    ----------
    kernel : np.ndarray [shape=(kernel_size * input_dim, filters), float32]
        The convolution's weights, a window of frames flattened row by row,
        already multiplied by the normalisation's scale.
    bias : np.ndarray [shape=(filters,), float32]
        The normalisation's offset.
    kernel_size, stride : int
        Input frames per window, and between windows.
    left, right : int
        Zero frames padded before and after the input; ``right`` is the look-ahead.
    """

    kernel: np.ndarray
    bias: np.ndarray
    kernel_size: int
    stride: int
    left: int
    right: int

    @property
    def input_dim(self) -> int:
        return self.kernel.shape[0] // self.kernel_size

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        """(n, kernel_size, input_dim) windows -> (n, filters) activations."""
        flat = windows.reshape(windows.shape[0], -1)
        return np.maximum(flat @ self.kernel + self.bias, 0.0)


@dataclass(frozen=True, eq=False)
class GruLayer:
    """A Keras GRU (``reset_after``, tanh and sigmoid) followed by batch normalisation.

    Attributes
    ----------
    kernel : np.ndarray [shape=(inputs, 3 * units)]
        Input weights of the update, reset and candidate gates, in that order.
    recurrent : np.ndarray [shape=(units, 3 * units)]
    input_bias, recurrent_bias : np.ndarray [shape=(3 * units,)]
    scale, offset : np.ndarray [shape=(units,)]
        The batch normalisation after it, as ``x * scale + offset``.
    """

    kernel: np.ndarray
    recurrent: np.ndarray
    input_bias: np.ndarray
    recurrent_bias: np.ndarray
    scale: np.ndarray
    offset: np.ndarray

    @property
    def units(self) -> int:
        return self.recurrent.shape[0]

    def __call__(self, x: np.ndarray, state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Run (frames, inputs) from ``state`` (units,); return the normalised outputs and the new state."""
        units = self.units
        projected = x @ self.kernel + self.input_bias  # all frames at once; only the recurrence is sequential
        outputs = np.empty((x.shape[0], units), dtype=np.float32)
        for t in range(x.shape[0]):
            recurrent = state @ self.recurrent + self.recurrent_bias
            update = _sigmoid(projected[t, :units] + recurrent[:units])
            reset = _sigmoid(projected[t, units:2 * units] + recurrent[units:2 * units])
            candidate = np.tanh(projected[t, 2 * units:] + reset * recurrent[2 * units:])
            state = update * state + (1.0 - update) * candidate
            outputs[t] = state
        return outputs * self.scale + self.offset, state


@dataclass(frozen=True, eq=False)
class StreamingNetwork:
    """A ``streaming_gru`` acoustic model as NumPy arrays.

    Attributes
    ----------
    front_end : FrontEnd
    grus : tuple of GruLayer
    classifier_kernel : np.ndarray [shape=(units, num_classes)]
    classifier_bias : np.ndarray [shape=(num_classes,)]
    """

    front_end: FrontEnd
    grus: tuple[GruLayer, ...]
    classifier_kernel: np.ndarray
    classifier_bias: np.ndarray

    @property
    def input_dim(self) -> int:
        """Feature values per input frame."""
        return self.front_end.input_dim

    @property
    def num_classes(self) -> int:
        return self.classifier_bias.shape[0]

    @property
    def stride(self) -> int:
        """Input frames per output frame."""
        return self.front_end.stride

    @property
    def lookahead_frames(self) -> int:
        """Input frames of the future the convolution reads: an output frame needs input frames up to
        ``stride * index + lookahead_frames``."""
        return self.front_end.right

    def stream(self) -> "NetworkStream":
        """A new stream, at the start of an utterance."""
        return NetworkStream(self)

    def log_probs(self, features: np.ndarray) -> np.ndarray:
        """Log-probabilities of one whole utterance's (frames, input_dim) features: (ceil(frames / stride), classes)."""
        stream = self.stream()
        return np.concatenate([stream.push(features), stream.finish()])

    def classify(self, hidden: np.ndarray) -> np.ndarray:
        """(frames, units) last-GRU outputs -> (frames, classes) log-probabilities."""
        logits = hidden @ self.classifier_kernel + self.classifier_bias
        logits -= logits.max(axis=1, keepdims=True)
        return (logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))).astype(np.float32)

    def save(self, path: str | os.PathLike, *, model_sha256: str) -> None:
        """Write the arrays and the SHA-256 of the ``model.keras`` they came from to one ``.npz``."""
        arrays = {"front_end.kernel": self.front_end.kernel, "front_end.bias": self.front_end.bias,
                  "classifier.kernel": self.classifier_kernel, "classifier.bias": self.classifier_bias}
        for i, gru in enumerate(self.grus):
            for name in ("kernel", "recurrent", "input_bias", "recurrent_bias", "scale", "offset"):
                arrays[f"gru_{i}.{name}"] = getattr(gru, name)
        info = {"format": FORMAT_VERSION, "model_sha256": model_sha256, "layers": len(self.grus),
                "kernel_size": self.front_end.kernel_size, "stride": self.front_end.stride,
                "left": self.front_end.left, "right": self.front_end.right}
        with open(path, "wb") as handle:
            np.savez(handle, info=np.array(json.dumps(info)), **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike) -> tuple["StreamingNetwork", dict]:
        """Read a ``.npz`` written by :meth:`save`; return the network and its info (``model_sha256``, ...)."""
        with np.load(path, allow_pickle=False) as data:
            info = json.loads(str(data["info"]))
            if info.get("format") != FORMAT_VERSION:
                raise ValueError(f"format {info.get('format')!r}, expected {FORMAT_VERSION}")
            front_end = FrontEnd(kernel=data["front_end.kernel"], bias=data["front_end.bias"],
                                 kernel_size=info["kernel_size"], stride=info["stride"], left=info["left"],
                                 right=info["right"])
            grus = tuple(GruLayer(**{name: data[f"gru_{i}.{name}"] for name in
                                     ("kernel", "recurrent", "input_bias", "recurrent_bias", "scale", "offset")})
                         for i in range(info["layers"]))
            return cls(front_end, grus, data["classifier.kernel"], data["classifier.bias"]), info


class NetworkStream:
    """One utterance going through a :class:`StreamingNetwork`, a chunk of feature frames at a time.

    ``push`` returns the log-probabilities of every output frame whose
    convolution window is complete; ``finish`` pads the end with the model's
    look-ahead zeros and returns the rest.
    """

    def __init__(self, network: StreamingNetwork):
        self.network = network
        front_end = network.front_end
        self._frames = np.zeros((front_end.left, front_end.input_dim), dtype=np.float32)  # not yet fully read
        self._states = [np.zeros(gru.units, dtype=np.float32) for gru in network.grus]
        self.finished = False

    def push(self, features: np.ndarray) -> np.ndarray:
        """Feed (frames, input_dim) normalised features; return (new output frames, classes) log-probabilities."""
        if self.finished:
            raise RuntimeError("this stream is finished; start another with network.stream()")
        features = np.asarray(features, dtype=np.float32)
        if features.ndim != 2 or features.shape[1] != self.network.input_dim:
            raise ValueError(f"expected features of shape (frames, {self.network.input_dim}), got {features.shape}")
        self._frames = np.concatenate([self._frames, features])
        return self._run_complete_windows()

    def finish(self) -> np.ndarray:
        """End the utterance: the look-ahead padding, then the last output frames."""
        front_end = self.network.front_end
        self._frames = np.concatenate([self._frames, np.zeros((front_end.right, front_end.input_dim), np.float32)])
        self.finished = True
        return self._run_complete_windows()

    def _run_complete_windows(self) -> np.ndarray:
        with _blas().limit(limits=1, user_api="blas"):
            return self._run_windows()

    def _run_windows(self) -> np.ndarray:
        front_end = self.network.front_end
        windows = (self._frames.shape[0] - front_end.kernel_size) // front_end.stride + 1
        if windows <= 0:
            return np.zeros((0, self.network.num_classes), dtype=np.float32)
        frames = np.lib.stride_tricks.sliding_window_view(self._frames, front_end.kernel_size, axis=0)
        x = front_end(frames[:windows * front_end.stride:front_end.stride].transpose(0, 2, 1))
        self._frames = self._frames[windows * front_end.stride:]
        for i, gru in enumerate(self.network.grus):
            x, self._states[i] = gru(x, self._states[i])
        return self.network.classify(x)


def from_keras(model) -> StreamingNetwork:
    """The arrays of a Keras ``streaming_gru`` model (dropout is off at inference, so it is left out).

    Raises
    ------
    ValueError
        If the model has a layer a stream cannot run (a bidirectional GRU reads the future).
    """
    import keras

    by_type = {keras.layers.ZeroPadding1D: "padding", keras.layers.Conv1D: "conv",
               keras.layers.BatchNormalization: "norm", keras.layers.ReLU: "relu", keras.layers.GRU: "gru",
               keras.layers.Dropout: "dropout", keras.layers.Dense: "dense", keras.layers.Activation: "activation",
               keras.layers.InputLayer: "input"}
    sequence = []
    for layer in model.layers:
        kind = next((name for cls, name in by_type.items() if type(layer) is cls), None)
        if kind is None:
            raise ValueError(f"model {model.name!r} cannot stream: layer {layer.name!r} "
                             f"({type(layer).__name__}) is not one of a streaming_gru model's")
        if kind not in ("input", "dropout"):
            sequence.append((kind, layer))
    kinds = [kind for kind, _ in sequence]
    depth = kinds.count("gru")
    expected = ["padding", "conv", "norm", "relu"] + ["gru", "norm"] * depth + ["dense", "activation"]
    if kinds != expected or depth == 0:
        raise ValueError(f"model {model.name!r} cannot stream: its layers are {kinds}, expected {expected}")
    layers = [layer for _, layer in sequence]
    padding, conv, conv_norm = layers[0], layers[1], layers[2]
    _check_conv(conv)
    scale, offset = _norm(conv_norm)
    (kernel,) = conv.get_weights()
    kernel_size, input_dim, filters = kernel.shape
    front_end = FrontEnd(kernel=(kernel.reshape(kernel_size * input_dim, filters) * scale).astype(np.float32),
                         bias=offset, kernel_size=kernel_size, stride=conv.strides[0], left=padding.padding[0],
                         right=padding.padding[1])
    grus = tuple(_gru(layers[4 + 2 * i], layers[5 + 2 * i]) for i in range(depth))
    dense = layers[-2]
    if layers[-1].get_config()["activation"] != "log_softmax":
        raise ValueError(f"model {model.name!r} cannot stream: its output is not a log-softmax")
    dense_kernel, dense_bias = dense.get_weights()
    return StreamingNetwork(front_end, grus, dense_kernel.astype(np.float32), dense_bias.astype(np.float32))


def load_streaming_network(folder: str | os.PathLike) -> StreamingNetwork:
    """A model folder's streaming network: its ``streaming.npz`` when current, else converted from ``model.keras``.

    Raises
    ------
    ModelError
        If the folder's model cannot stream (not a ``streaming_gru``), or its files cannot be read.
    """
    folder = Path(folder)
    path, keras_path = folder / STREAMING_FILE, folder / KERAS_FILE
    if path.is_file():
        try:
            network, info = StreamingNetwork.load(path)
        except (OSError, ValueError, KeyError) as error:
            raise ModelError(f"{path}: cannot read ({type(error).__name__}: {error})") from error
        if not keras_path.is_file() or info.get("model_sha256") == file_sha256(keras_path):
            return network
    try:
        return from_keras(load_keras_model(keras_path))
    except ValueError as error:
        raise ModelError(f"{folder}: {error}; streaming needs a model trained with --model streaming_gru") from error


def write_streaming_network(folder: str | os.PathLike) -> Path:
    """Convert a folder's ``model.keras`` to ``streaming.npz`` beside it (what ``asr export`` does for one)."""
    folder = Path(folder)
    network = from_keras(load_keras_model(folder / KERAS_FILE))
    path = folder / STREAMING_FILE
    network.save(path, model_sha256=file_sha256(folder / KERAS_FILE))
    return path


@functools.cache
def _blas() -> ThreadpoolController:
    """The BLAS thread pools, which a stream runs on one thread.

    A chunk's products are a few rows against a few MB of weights: a second
    thread costs more in hand-offs than it saves, and when the other core is
    busy (training, another stream) it makes them several times slower
    (real-time factor 0.07 on one thread against 0.29-0.75 on two, measured
    beside a training run).
    """
    return ThreadpoolController()


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (np.tanh(0.5 * x) + 1.0)


def _norm(layer) -> tuple[np.ndarray, np.ndarray]:
    """A BatchNormalization layer at inference as ``x * scale + offset``."""
    config = layer.get_config()
    gamma, beta, mean, variance = layer.get_weights() if config["scale"] and config["center"] else (None,) * 4
    if gamma is None:
        raise ValueError(f"layer {layer.name!r}: batch normalisation without scale and centre is not supported")
    scale = gamma / np.sqrt(variance + config["epsilon"])
    return scale.astype(np.float32), (beta - mean * scale).astype(np.float32)


def _check_conv(conv) -> None:
    config = conv.get_config()
    if config["padding"] != "valid" or config["use_bias"] or config["dilation_rate"] != (1,) or config["activation"] \
            not in ("linear", None):
        raise ValueError(f"layer {conv.name!r}: expected a valid, bias-free, undilated linear Conv1D")


def _gru(gru, norm) -> GruLayer:
    config = gru.get_config()
    if not (config["reset_after"] and config["activation"] == "tanh" and config["recurrent_activation"] == "sigmoid"
            and config["use_bias"] and not config.get("go_backwards")):
        raise ValueError(f"layer {gru.name!r}: expected a forward GRU with reset_after, tanh and sigmoid")
    kernel, recurrent, bias = gru.get_weights()
    scale, offset = _norm(norm)
    return GruLayer(kernel=kernel.astype(np.float32), recurrent=recurrent.astype(np.float32),
                    input_bias=bias[0].astype(np.float32), recurrent_bias=bias[1].astype(np.float32),
                    scale=scale, offset=offset)
