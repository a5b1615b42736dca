"""Acoustic model variants: features in, per-frame log-probabilities over the classes out.

Every variant is a plain functional Keras model built from Keras' own layers
and two registered layers of ours, :class:`ClearPadding` and
:class:`ReverseUtterances` (no Lambda), so a saved model loads in Keras' safe
mode. Its output has shape ``(batch,
output_frames, num_classes)`` and holds log-softmax scores;
:func:`output_length` gives ``output_frames`` exactly.

Batches are padded at the end with all-zero frames. The backward GRUs of the
bidirectional variants read each utterance reversed within its own length
(:func:`_bidirectional_gru`), so they start at its last frame, and an
utterance's log-probabilities are the same alone and in a padded batch. Their convolutions pad the time axis explicitly
(``ZeroPadding``, then a ``valid`` convolution) rather than with ``same``,
whose left padding depends on the padded length and would shift the windows
of an utterance by one frame when its batch-mates change its parity.

The names follow the classic DNN speech recognizer walkthrough (``rnn``,
``rnn_td``, ``cnn_rnn``, ``deep_rnn``, ``bidir_rnn``), plus ``cnn_bigru``, our
default, ``streaming_gru``, which sees only a fixed 40 ms of the future and so
can transcribe live audio (:mod:`asr.streaming`), and ``deepspeech2`` after
Baidu's Deep Speech 2 and the Keras CTC example.
"""

from __future__ import annotations

import os
from collections.abc import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
from keras import layers, ops  # noqa: E402

from asr.constants import NUM_CLASSES  # noqa: E402
from asr.frames import TimeStep, output_frames, total_stride  # noqa: E402

VARIANTS: dict[str, Callable[..., keras.Model]] = {}
UTTERANCE_NORMS = ("none", "mean", "meanvar")  # cnn_bigru's per-utterance normalisation of its input
TIME_LAYERS = (layers.Conv1D, layers.Conv2D, layers.MaxPooling1D, layers.MaxPooling2D, layers.AveragePooling1D,
               layers.AveragePooling2D, layers.ZeroPadding1D, layers.ZeroPadding2D)


class _UtteranceLengthLayer(layers.Layer):
    """Base of the layers that find each utterance's length in its zero-padded features.

    Called on ``[x, features]``: ``features`` are the model's input frames,
    padded at the end with all-zero frames, and ``x`` a sequence ``stride``
    times shorter. An utterance ends at its last frame that is not all zeros,
    and it owns the first ``ceil(frames / stride)`` frames of ``x``: the
    output length of an odd-kernel convolution with ``kernel // 2`` zeros on
    each side.

    Parameters
    ----------
    stride : int
        Input frames per frame of ``x``.
    """

    def __init__(self, stride: int = 1, **kwargs):
        super().__init__(**kwargs)
        if stride < 1:
            raise ValueError(f"stride must be a positive integer, got {stride}")
        self.stride = int(stride)

    def _lengths(self, features):
        """(batch,) int32: the frames of x that belong to each utterance."""
        present = ops.any(ops.not_equal(features, 0), axis=-1)  # (batch, frames)
        lengths = ops.max(ops.where(present, _positions(present), 0), axis=1)
        return (lengths + self.stride - 1) // self.stride

    def compute_output_shape(self, input_shapes):
        return input_shapes[0]

    def get_config(self):
        return {**super().get_config(), "stride": self.stride}


@keras.saving.register_keras_serializable(package="asr")
class ClearPadding(_UtteranceLengthLayer):
    """Set the frames of ``x`` past each utterance's end to zero (``[x, features]`` in, ``x`` out).

    A convolution after it sees the zeros it would see at the end of the
    utterance alone, whatever the batch-mates.
    """

    def call(self, inputs):
        x, features = inputs
        kept = ops.cast(_frame_positions(x) <= self._lengths(features)[:, None], x.dtype)
        for _ in range(len(x.shape) - 2):  # (batch, frames) -> (batch, frames, 1, ...) to broadcast over x
            kept = ops.expand_dims(kept, -1)
        return x * kept


@keras.saving.register_keras_serializable(package="asr")
class ReverseUtterances(_UtteranceLengthLayer):
    """Reverse each utterance's own frames of ``x`` in time, leaving the padding after them in place.

    ``[x, features]`` in, ``x`` (batch, frames, units) out. Around a GRU it
    makes the backward half of a bidirectional layer that starts at the
    utterance's last frame, not at the batch's: the padding comes after the
    utterance in both directions, so it never reaches the utterance's outputs.
    (Keras' ``Bidirectional`` with a mask does the same by masking every step
    of the recurrence; this needs no Keras mask, so an exported graph has
    none to carry, and the two directions can run side by side.)
    """

    def call(self, inputs):
        x, features = inputs
        positions = _frame_positions(x)  # 1-based
        lengths = self._lengths(features)[:, None]
        source = ops.where(positions <= lengths, lengths - positions, positions - 1)  # 0-based frame to read
        return ops.take_along_axis(x, ops.expand_dims(source, -1), axis=1)


@keras.saving.register_keras_serializable(package="asr")
class UtteranceNormalization(_UtteranceLengthLayer):
    """Normalise each utterance by its own mean and standard deviation per feature, over its real frames.

    ``features`` (batch, frames, dim) in, the same shape out: cepstral mean
    and variance normalisation per utterance, on top of the global statistics
    the features were normalised with, so a voice or a channel that shifts
    every frame the same way (a microphone's colour, a loud room) looks like
    the ones the model trained on. The padding after an utterance stays zero
    and never enters its statistics. Called on the model's input alone.

    Parameters
    ----------
    scale : bool
        Divide by the standard deviation too (else only subtract the mean).
    epsilon : float
        Added to the variance.
    """

    def __init__(self, scale: bool = True, epsilon: float = 1e-3, **kwargs):
        super().__init__(stride=1, **kwargs)
        self.scale = bool(scale)
        self.epsilon = float(epsilon)

    def call(self, features):
        lengths = self._lengths(features)
        kept = ops.cast(_frame_positions(features) <= lengths[:, None], features.dtype)[:, :, None]
        count = ops.maximum(ops.cast(lengths, features.dtype), 1.0)[:, None, None]
        mean = ops.sum(features * kept, axis=1, keepdims=True) / count
        centred = (features - mean) * kept
        if not self.scale:
            return centred
        variance = ops.sum(centred * centred, axis=1, keepdims=True) / count
        return centred / ops.sqrt(variance + self.epsilon)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.pop("stride")
        return {**config, "scale": self.scale, "epsilon": self.epsilon}


def variant(name: str):
    """Register a model builder under ``name``."""

    def register(builder):
        VARIANTS[name] = builder
        return builder

    return register


def _positions(frames):
    """1, 2, 3, ... along the time axis of a (batch, frames) tensor, as int32."""
    return ops.cumsum(ops.ones_like(frames, dtype="int32"), axis=1)


def _frame_positions(x):
    """1, 2, 3, ... along the time axis of x (batch, frames, ...), as a (batch, frames) int32 tensor."""
    return _positions(ops.sum(ops.zeros_like(x, dtype="int32"), axis=tuple(range(2, len(x.shape)))))


def build_model(name: str, *, input_dim: int, num_classes: int = NUM_CLASSES, **hparams) -> keras.Model:
    """Build an acoustic model variant.

    Parameters
    ----------
    name : str
        One of ``VARIANTS``: rnn, rnn_td, cnn_rnn, deep_rnn, bidir_rnn, cnn_bigru, streaming_gru, deepspeech2.
    input_dim : int
        Feature values per frame (161 for the default spectrogram).
    num_classes : int
        Output classes, the blank included.
    **hparams
        The variant's own options (units, layers, filters, ...); see each builder.

    Returns
    -------
    keras.Model
        Input ``(batch, frames, input_dim)`` float32; output ``(batch,
        output_length(frames), num_classes)`` log-probabilities.

    Examples
    --------
    >>> model = build_model("cnn_bigru", input_dim=161, units=64, layers=1)  # doctest: +SKIP
    >>> output_length(model, 100)  # doctest: +SKIP
    50
    """
    if name not in VARIANTS:
        raise ValueError(f"unknown model {name!r}; expected one of {sorted(VARIANTS)}")
    if input_dim <= 0:
        raise ValueError(f"input_dim must be positive, got {input_dim}")
    try:
        return VARIANTS[name](input_dim=input_dim, num_classes=num_classes, **hparams)
    except TypeError as error:
        raise ValueError(f"bad options for model {name!r}: {error}") from error


def output_length(model: keras.Model, input_lengths):
    """Output frames of ``model`` for inputs of ``input_lengths`` frames.

    Reads the model's own convolution, pooling and padding layers
    (:func:`time_steps`), so it holds for any model built here and for one
    loaded from disk.

    Parameters
    ----------
    model : keras.Model
    input_lengths : int, np.ndarray or tf.Tensor of int
        Frames of each input.

    Returns
    -------
    Same type as ``input_lengths``
        Frames of each output.
    """
    return output_frames(time_steps(model), input_lengths)


def time_steps(model: keras.Model) -> tuple[TimeStep, ...]:
    """The model's changes of the time axis, in layer order (kernel, stride, dilation, padding)."""
    return tuple(_time_step(layer) for layer in model.layers if isinstance(layer, TIME_LAYERS))


def copy_weights(source: keras.Model, target: keras.Model) -> None:
    """Copy every layer's weights from ``source`` into the layer of the same name in ``target``.

    A Keras ``Bidirectional`` layer ``NAME`` of a model saved before
    :func:`_bidirectional_gru` feeds the GRUs ``NAME_forward`` and
    ``NAME_backward``, so such a model can start a run of today's variant.

    Raises
    ------
    ValueError
        If a layer with weights has no counterpart on the other side, or the shapes differ.
    """
    weights = {}
    for layer in source.layers:
        if isinstance(layer, layers.Bidirectional):
            weights[f"{layer.name}_forward"] = layer.forward_layer.get_weights()
            weights[f"{layer.name}_backward"] = layer.backward_layer.get_weights()
        elif layer.weights:
            weights[layer.name] = layer.get_weights()
    receiving = [layer for layer in target.layers if layer.weights]
    unmatched = sorted(set(weights) ^ {layer.name for layer in receiving})
    if unmatched:
        raise ValueError(f"layers with weights on one side only: {unmatched}")
    for layer in receiving:
        layer.set_weights(weights[layer.name])


def time_stride(model: keras.Model) -> int:
    """Input frames per output frame: the product of the time strides of the model's layers."""
    return total_stride(time_steps(model))


def _time_step(layer) -> TimeStep:
    """The time-axis change of one convolution, pooling or zero-padding layer."""
    if isinstance(layer, layers.ZeroPadding1D):
        return TimeStep(added=sum(layer.padding))
    if isinstance(layer, layers.ZeroPadding2D):
        return TimeStep(added=sum(layer.padding[0]))
    if isinstance(layer, (layers.Conv1D, layers.Conv2D)):
        return TimeStep(kernel=layer.kernel_size[0], stride=layer.strides[0], dilation=layer.dilation_rate[0],
                        padding=layer.padding)
    return TimeStep(kernel=layer.pool_size[0], stride=layer.strides[0], padding=layer.padding)


def _inputs(input_dim: int) -> keras.KerasTensor:
    """The features input, any number of frames."""
    return keras.Input(shape=(None, input_dim), name="features")


def _classifier(x, num_classes: int) -> keras.KerasTensor:
    """The TimeDistributed(Dense) of the walkthrough: one Dense applied to every frame, then log-softmax.

    Keras' ``Dense`` on a (batch, frames, units) tensor already maps each frame
    on its own with shared weights, which is what ``TimeDistributed(Dense)``
    means. We use it directly: Keras 3's ``TimeDistributed`` wrapper loops over
    the frames (``vectorized_map``), which is slower and failed on batches of
    varying length in our training runs.
    """
    x = layers.Dense(num_classes, name="time_distributed_dense")(x)
    return layers.Activation("log_softmax", name="log_probs")(x)


def _padded_conv1d(x, filters: int, kernel_size: int, stride: int, name: str) -> keras.KerasTensor:
    """A strided Conv1D over ``kernel_size // 2`` explicit zeros each side: ``ceil(frames / stride)`` outputs.

    Unlike ``padding="same"``, the windows sit at the same input frames
    whatever the padded length of the batch.
    """
    if kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be odd, got {kernel_size}")
    x = layers.ZeroPadding1D(kernel_size // 2, name=f"{name}_padding")(x)
    return layers.Conv1D(filters, kernel_size, strides=stride, padding="valid", use_bias=False, name=name)(x)


def _gru(units: int, name: str, dropout: float = 0.0) -> layers.GRU:
    """A sequence-returning GRU."""
    return layers.GRU(units, return_sequences=True, dropout=dropout, name=name)


def _bidirectional_gru(x, features, units: int, stride: int, name: str) -> keras.KerasTensor:
    """A bidirectional GRU whose backward half starts at each utterance's own last frame.

    The forward GRU reads the frames in order; the backward one reads them
    reversed within each utterance (:class:`ReverseUtterances`), and its
    outputs are put back in order. Padding always comes after an utterance's
    frames, so neither direction carries it into them. The weights are laid
    out as Keras' ``Bidirectional(GRU)``'s: forward, then backward.

    Parameters
    ----------
    x : KerasTensor [shape=(batch, frames, channels)]
    features : KerasTensor [shape=(batch, frames * stride, dim)]
        The model's input, which tells each utterance's length.
    """
    forward = _gru(units, f"{name}_forward")(x)
    backward = _gru(units, f"{name}_backward")(ReverseUtterances(stride, name=f"{name}_reverse")([x, features]))
    backward = ReverseUtterances(stride, name=f"{name}_unreverse")([backward, features])
    return layers.Concatenate(name=name)([forward, backward])


@variant("rnn")
def rnn(*, input_dim: int, num_classes: int) -> keras.Model:
    """One GRU whose units are the classes, straight into the softmax."""
    inputs = _inputs(input_dim)
    x = _gru(num_classes, "gru")(inputs)
    outputs = layers.Activation("log_softmax", name="log_probs")(x)
    return keras.Model(inputs, outputs, name="rnn")


@variant("rnn_td")
def rnn_td(*, input_dim: int, num_classes: int, units: int = 200) -> keras.Model:
    """GRU, batch normalisation, TimeDistributed(Dense)."""
    inputs = _inputs(input_dim)
    x = _gru(units, "gru")(inputs)
    x = layers.BatchNormalization(name="gru_norm")(x)
    return keras.Model(inputs, _classifier(x, num_classes), name="rnn_td")


@variant("cnn_rnn")
def cnn_rnn(*, input_dim: int, num_classes: int, filters: int = 200, kernel_size: int = 11, stride: int = 2,
            padding: str = "valid", units: int = 200) -> keras.Model:
    """Conv1D, batch norm, GRU, batch norm, TimeDistributed(Dense)."""
    inputs = _inputs(input_dim)
    x = layers.Conv1D(filters, kernel_size, strides=stride, padding=padding, activation="relu", name="conv")(inputs)
    x = layers.BatchNormalization(name="conv_norm")(x)
    x = _gru(units, "gru")(x)
    x = layers.BatchNormalization(name="gru_norm")(x)
    return keras.Model(inputs, _classifier(x, num_classes), name="cnn_rnn")


@variant("deep_rnn")
def deep_rnn(*, input_dim: int, num_classes: int, units: int = 200, **options) -> keras.Model:
    """Several GRU + batch norm layers, TimeDistributed(Dense); ``layers`` GRUs (default 2)."""
    depth = options.pop("layers", 2)
    if options:
        raise TypeError(f"unexpected options {sorted(options)}")
    inputs = _inputs(input_dim)
    x = inputs
    for i in range(depth):
        x = _gru(units, f"gru_{i}")(x)
        x = layers.BatchNormalization(name=f"gru_norm_{i}")(x)
    return keras.Model(inputs, _classifier(x, num_classes), name="deep_rnn")


@variant("bidir_rnn")
def bidir_rnn(*, input_dim: int, num_classes: int, units: int = 200) -> keras.Model:
    """One bidirectional GRU, TimeDistributed(Dense)."""
    inputs = _inputs(input_dim)
    x = _bidirectional_gru(inputs, inputs, units, 1, name="bigru")
    return keras.Model(inputs, _classifier(x, num_classes), name="bidir_rnn")


@variant("cnn_bigru")
def cnn_bigru(*, input_dim: int, num_classes: int, filters: int = 256, kernel_size: int = 11, stride: int = 2,
              units: int = 256, dropout: float = 0.1, utterance_norm: str = "none", **options) -> keras.Model:
    """Our default: a strided Conv1D front end, stacked BiGRUs with dropout, TimeDistributed(Dense).

    Options: ``filters``, ``kernel_size``, ``stride`` (time reduction of the
    front end), ``units`` (per direction), ``layers`` (BiGRU count, default 2),
    ``dropout`` (after each BiGRU), ``utterance_norm`` (``none``; ``mean`` or
    ``meanvar``: normalise each utterance by its own statistics first,
    :class:`UtteranceNormalization`).
    """
    depth = options.pop("layers", 2)
    if options:
        raise TypeError(f"unexpected options {sorted(options)}")
    if utterance_norm not in UTTERANCE_NORMS:
        raise TypeError(f"utterance_norm must be one of {UTTERANCE_NORMS}, got {utterance_norm!r}")
    inputs = _inputs(input_dim)
    x = inputs
    if utterance_norm != "none":
        x = UtteranceNormalization(scale=utterance_norm == "meanvar", name="utterance_norm")(inputs)
    x = _padded_conv1d(x, filters, kernel_size, stride, name="conv")
    x = layers.BatchNormalization(name="conv_norm")(x)
    x = layers.ReLU(name="conv_relu")(x)
    for i in range(depth):
        x = _bidirectional_gru(x, inputs, units, stride, name=f"bigru_{i}")
        x = layers.BatchNormalization(name=f"bigru_norm_{i}")(x)
        x = layers.Dropout(dropout, name=f"bigru_dropout_{i}")(x)
    return keras.Model(inputs, _classifier(x, num_classes), name="cnn_bigru")


@variant("streaming_gru")
def streaming_gru(*, input_dim: int, num_classes: int, filters: int = 256, kernel_size: int = 11, stride: int = 2,
                  lookahead: int = 4, units: int = 512, dropout: float = 0.1, **options) -> keras.Model:
    """The streaming variant: a front end with a fixed look-ahead, unidirectional GRUs, TimeDistributed(Dense).

    Every output frame depends only on the past and on ``lookahead`` input
    frames of the future (``lookahead * hop_ms`` ms, 40 ms at the defaults,
    plus the feature window), so :mod:`asr.streaming` can run it on audio
    as it arrives. Its convolution pads ``kernel_size - 1 - lookahead`` zero
    frames before the input and ``lookahead`` after, so it has the same
    ``ceil(frames / stride)`` outputs as :func:`cnn_bigru`, and an utterance's
    outputs never depend on the padding after it in a batch.

    Options: ``filters``, ``kernel_size``, ``stride`` (time reduction of the
    front end), ``lookahead`` (input frames, at most ``kernel_size - 1``),
    ``units``, ``layers`` (GRU count, default 3), ``dropout`` (after each GRU).
    """
    depth = options.pop("layers", 3)
    if options:
        raise TypeError(f"unexpected options {sorted(options)}")
    if not 0 <= lookahead <= kernel_size - 1:
        raise TypeError(f"lookahead must be 0 to kernel_size - 1 ({kernel_size - 1}) frames, got {lookahead}")
    inputs = _inputs(input_dim)
    x = layers.ZeroPadding1D((kernel_size - 1 - lookahead, lookahead), name="conv_padding")(inputs)
    x = layers.Conv1D(filters, kernel_size, strides=stride, padding="valid", use_bias=False, name="conv")(x)
    x = layers.BatchNormalization(name="conv_norm")(x)
    x = layers.ReLU(name="conv_relu")(x)
    for i in range(depth):
        x = _gru(units, f"gru_{i}")(x)
        x = layers.BatchNormalization(name=f"gru_norm_{i}")(x)
        x = layers.Dropout(dropout, name=f"gru_dropout_{i}")(x)
    return keras.Model(inputs, _classifier(x, num_classes), name="streaming_gru")


@variant("deepspeech2")
def deepspeech2(*, input_dim: int, num_classes: int, filters: int = 32, units: int = 512, dense_units: int = 1024,
                dropout: float = 0.5, **options) -> keras.Model:
    """Two 2-D convolutions over (time, frequency), BiGRUs, a dense layer: the Keras CTC example's model.

    Options: ``filters``, ``units`` (per direction), ``layers`` (BiGRU count,
    default 5), ``dense_units``, ``dropout``.
    """
    depth = options.pop("layers", 5)
    if options:
        raise TypeError(f"unexpected options {sorted(options)}")
    inputs = _inputs(input_dim)
    x = layers.Reshape((-1, input_dim, 1), name="add_channel")(inputs)
    x = layers.ZeroPadding2D(((5, 5), (20, 20)), name="conv_1_padding")(x)
    x = layers.Conv2D(filters, (11, 41), strides=(2, 2), padding="valid", use_bias=False, name="conv_1")(x)
    x = layers.BatchNormalization(name="conv_1_norm")(x)
    x = layers.ReLU(name="conv_1_relu")(x)
    x = ClearPadding(2, name="conv_1_clear_padding")([x, inputs])  # zeros past the end, as conv_2 sees them alone
    x = layers.ZeroPadding2D(((5, 5), (10, 10)), name="conv_2_padding")(x)
    x = layers.Conv2D(filters, (11, 21), strides=(1, 2), padding="valid", use_bias=False, name="conv_2")(x)
    x = layers.BatchNormalization(name="conv_2_norm")(x)
    x = layers.ReLU(name="conv_2_relu")(x)
    frequency_bins = -(-(-(-input_dim // 2)) // 2)  # two half-kernel-padded convolutions, stride 2 in frequency each
    x = layers.Reshape((-1, frequency_bins * filters), name="merge_channels")(x)
    for i in range(depth):
        x = _bidirectional_gru(x, inputs, units, 2, name=f"bigru_{i}")
        if i < depth - 1:
            x = layers.Dropout(dropout, name=f"bigru_dropout_{i}")(x)
    x = layers.Dense(dense_units, activation="relu", name="dense")(x)
    x = layers.Dropout(dropout, name="dense_dropout")(x)
    return keras.Model(inputs, _classifier(x, num_classes), name="deepspeech2")
