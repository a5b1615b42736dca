"""CTC training: a Keras model wrapper whose train and test steps use the true lengths.

``CTCTrainer`` holds an acoustic model from :mod:`asr.models` and computes the
CTC loss with each utterance's real number of output frames
(:func:`asr.models.output_length` of its feature frames) and real label
length, never the padded ones, so plain ``model.fit`` trains it.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from asr.constants import BLANK_INDEX  # noqa: E402
from asr.models import output_length  # noqa: E402


def ctc_loss(labels, log_probs, label_lengths, output_lengths, *, blank_index: int = BLANK_INDEX) -> tf.Tensor:
    """Per-utterance CTC negative log-likelihood, with unalignable utterances zeroed.

    Runs TensorFlow's CTC kernel (``CTCLoss``, the forward-backward recursion
    over the ``2 * symbols + 1`` states, O(frames x symbols) per utterance,
    utterances in parallel) on sparse labels. ``keras.ops.ctc_loss`` takes
    dense labels, which send TensorFlow to its pure-graph implementation: a
    dense (states x states) transition at every frame, O(frames x
    symbols²). On a batch of eight 15-second clips that was 4 s per step
    against 0.1 s here, and it made training on long clips 5 times slower per
    second of audio than on short ones.

    Parameters
    ----------
    labels : int tensor [shape=(batch, symbols)]
        Class ids, padded with anything past ``label_lengths``; none of them the blank.
    log_probs : float tensor [shape=(batch, frames, num_classes)]
        The model's per-frame log-probabilities.
    label_lengths, output_lengths : int tensor [shape=(batch,)]
        True lengths of each label and each utterance's output frames.
    blank_index : int
        Class index of the blank.

    Returns
    -------
    tf.Tensor [shape=(batch,), float32]
        The loss of each utterance. It is 0 where no alignment exists (a label
        needing more frames than it has, which the pipeline drops up front)
        and where it is not finite, so one bad utterance can never turn the
        batch's loss or gradients into inf or NaN.
    """
    labels = tf.cast(labels, tf.int32)
    label_lengths = tf.cast(label_lengths, tf.int32)
    output_lengths = tf.cast(output_lengths, tf.int32)
    log_probs = tf.cast(log_probs, tf.float32)  # a mixed-precision model gives float16 or bfloat16
    loss = tf.compat.v1.nn.ctc_loss(
        _sparse_labels(labels, label_lengths, blank_index=blank_index),
        _blank_last(log_probs, blank_index),
        output_lengths,
        time_major=False,
        ignore_longer_outputs_than_inputs=True,  # unalignable: loss 0, no gradient (and zeroed below anyway)
    )
    usable = (_required_frames(labels, label_lengths) <= output_lengths) & tf.math.is_finite(loss)
    return tf.where(usable, loss, tf.zeros_like(loss))


def _sparse_labels(labels: tf.Tensor, label_lengths: tf.Tensor, *, blank_index: int) -> tf.SparseTensor:
    """The first ``label_lengths`` ids of each row, renumbered for a blank moved to the last class."""
    kept = tf.where(tf.sequence_mask(label_lengths, tf.shape(labels)[1]))
    ids = tf.gather_nd(labels, kept)
    ids = tf.where(ids > blank_index, ids - 1, ids)
    return tf.SparseTensor(kept, ids, tf.shape(labels, out_type=tf.int64))


def _blank_last(log_probs: tf.Tensor, blank_index: int) -> tf.Tensor:
    """``log_probs`` with the blank's column moved to the end, where TensorFlow's kernel expects it."""
    return tf.concat([log_probs[:, :, :blank_index], log_probs[:, :, blank_index + 1:],
                      log_probs[:, :, blank_index:blank_index + 1]], axis=2)


def _required_frames(labels: tf.Tensor, label_lengths: tf.Tensor) -> tf.Tensor:
    """Fewest frames CTC needs per label: its length plus one blank between each repeated pair."""
    pairs = tf.range(tf.shape(labels)[1] - 1)[tf.newaxis, :] < (label_lengths[:, tf.newaxis] - 1)
    repeats = (labels[:, 1:] == labels[:, :-1]) & pairs
    return label_lengths + tf.reduce_sum(tf.cast(repeats, tf.int32), axis=1)


class CTCTrainer(keras.Model):
    """Trains an acoustic model with CTC through ``fit``; evaluates its loss through ``evaluate``.

    Batches are dicts with ``features`` (batch, frames, dim), ``feature_lengths``
    (batch,), ``labels`` (batch, symbols) and ``label_lengths`` (batch,), as
    :func:`asr.data.make_dataset` yields them.

    Parameters
    ----------
    acoustic : keras.Model
        A model from :func:`asr.models.build_model`.
    blank_index : int
    """

    def __init__(self, acoustic: keras.Model, *, blank_index: int = BLANK_INDEX, **kwargs):
        super().__init__(**kwargs)
        self.acoustic = acoustic
        self.blank_index = blank_index
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.built = acoustic.built  # its only weights are the acoustic model's

    def call(self, features, training=False):
        """Per-frame log-probabilities of padded features."""
        return self.acoustic(features, training=training)

    @property
    def metrics(self):
        return [self.loss_tracker]

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Skip Keras' symbolic build when the model and optimiser are built already.

        Under MultiWorkerMirroredStrategy, Keras 3 builds by all-reducing a first
        batch with ``strategy.reduce``, which accepts one tensor, not our dict
        of tensors; training builds everything up front, so nothing is lost.
        """
        if self.built and self.optimizer is not None and self.optimizer.built:
            return
        super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    def _batch_loss(self, batch, training: bool) -> tf.Tensor:
        """Mean CTC loss of a batch (a dict, or a dict packed as Keras' ``(x,)``)."""
        batch, _, _ = keras.utils.unpack_x_y_sample_weight(batch)
        log_probs = self.acoustic(batch["features"], training=training)
        frames = output_length(self.acoustic, batch["feature_lengths"])
        losses = ctc_loss(batch["labels"], log_probs, batch["label_lengths"], frames, blank_index=self.blank_index)
        return tf.reduce_mean(losses)

    def train_step(self, batch):
        with tf.GradientTape() as tape:
            loss = self._batch_loss(batch, training=True)
            replicas = tf.distribute.get_strategy().num_replicas_in_sync
            scaled = loss / tf.cast(replicas, loss.dtype)
        variables = self.acoustic.trainable_variables
        gradients = tape.gradient(scaled, variables)
        self.optimizer.apply(gradients, variables)
        self.loss_tracker.update_state(loss)
        return {"loss": _step_output(self.loss_tracker.result())}

    def test_step(self, batch):
        self.loss_tracker.update_state(self._batch_loss(batch, training=False))
        return {"loss": _step_output(self.loss_tracker.result())}


def _step_output(value: tf.Tensor) -> tf.Tensor:
    """A step's scalar output, given a batch axis across workers of a multi-worker run.

    Keras 3 averages step outputs across workers with ``strategy.reduce("MEAN",
    value, axis=0)``, which needs an axis to reduce.
    """
    if isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
        return tf.reshape(value, [1])
    return value
