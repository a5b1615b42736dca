"""CTC loss on true lengths, and the trainer that uses it."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from asr import BLANK_INDEX
from asr.ctc import CTCTrainer, ctc_loss
from asr.data import required_frames
from asr.models import build_model


def _log_probs(probabilities):
    return np.log(np.asarray(probabilities, dtype=np.float32))[None]


def test_one_frame_one_symbol_is_minus_log_its_probability():
    p = [[0.2, 0.5, 0.3]]
    loss = ctc_loss(np.array([[1]]), _log_probs(p), np.array([1]), np.array([1]), blank_index=0)
    assert float(loss[0]) == pytest.approx(-np.log(0.5), rel=1e-5)


def test_two_frames_sum_over_the_three_alignments():
    p = np.array([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]])
    expected = -np.log(p[0, 1] * p[1, 1] + p[0, 1] * p[1, 0] + p[0, 0] * p[1, 1])
    loss = ctc_loss(np.array([[1]]), _log_probs(p), np.array([1]), np.array([2]), blank_index=0)
    assert float(loss[0]) == pytest.approx(expected, rel=1e-5)


def test_padding_past_the_true_lengths_is_ignored():
    p = np.array([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3], [0.1, 0.1, 0.8]])
    short = ctc_loss(np.array([[1]]), _log_probs(p[:2]), np.array([1]), np.array([2]), blank_index=0)
    padded = ctc_loss(np.array([[1, 2]]), _log_probs(p), np.array([1]), np.array([2]), blank_index=0)
    assert float(padded[0]) == pytest.approx(float(short[0]), rel=1e-6)


def test_an_unalignable_utterance_has_zero_loss_not_inf():
    p = np.full((2, 3), 1 / 3)
    loss = ctc_loss(np.array([[1, 2, 1]]), _log_probs(p), np.array([3]), np.array([2]), blank_index=0)
    assert np.isfinite(loss).all() and float(loss[0]) == 0.0


@pytest.mark.parametrize("blank_index", [0, 3, 6])
def test_loss_and_gradients_match_the_dense_reference_implementation(rng, blank_index):
    """TensorFlow's CTC kernel on sparse labels against the graph implementation keras.ops.ctc_loss runs."""
    import tensorflow as tf

    batch, frames, classes, symbols = 4, 30, 7, 8
    activations = tf.Variable(rng.standard_normal((batch, frames, classes)).astype(np.float32))
    non_blank = [c for c in range(classes) if c != blank_index]
    labels = rng.choice(non_blank, size=(batch, symbols))
    label_lengths, output_lengths = np.array([8, 5, 1, 3]), np.array([30, 22, 9, 17])

    def loss_and_gradient(loss_function):
        with tf.GradientTape() as tape:
            loss = loss_function(tf.nn.log_softmax(activations))
            total = tf.reduce_sum(loss)
        return loss.numpy(), tape.gradient(total, activations).numpy()

    ours, our_gradient = loss_and_gradient(
        lambda log_probs: ctc_loss(labels, log_probs, label_lengths, output_lengths, blank_index=blank_index))
    reference, reference_gradient = loss_and_gradient(
        lambda log_probs: keras.ops.ctc_loss(labels, log_probs, label_lengths, output_lengths, mask_index=blank_index))
    np.testing.assert_allclose(ours, reference, rtol=1e-4)
    np.testing.assert_allclose(our_gradient, reference_gradient, atol=1e-4)


@pytest.mark.parametrize("label, frames", [([], 0), ([3], 1), ([3, 4], 2), ([3, 3], 3), ([5, 5, 5, 6], 6)])
def test_required_frames_counts_a_blank_between_repeats(label, frames):
    assert required_frames(label) == frames


def test_the_batch_loss_uses_each_utterances_own_length(rng):
    acoustic = build_model("rnn_td", input_dim=6, units=8)  # one-directional: padding cannot leak backwards
    trainer = CTCTrainer(acoustic, blank_index=BLANK_INDEX)
    a, b = rng.standard_normal((9, 6)), rng.standard_normal((5, 6))
    padded = np.zeros((2, 9, 6), np.float32)
    padded[0], padded[1, :5] = a, b
    batch = {"features": padded, "feature_lengths": np.array([9, 5]), "labels": np.array([[3, 4, 5], [7, 0, 0]]),
             "label_lengths": np.array([3, 1])}
    together = float(trainer._batch_loss(batch, training=False))
    alone = [
        float(trainer._batch_loss({"features": a[None].astype(np.float32), "feature_lengths": np.array([9]),
                                   "labels": np.array([[3, 4, 5]]), "label_lengths": np.array([3])}, False)),
        float(trainer._batch_loss({"features": b[None].astype(np.float32), "feature_lengths": np.array([5]),
                                   "labels": np.array([[7]]), "label_lengths": np.array([1])}, False)),
    ]
    assert together == pytest.approx(np.mean(alone), rel=1e-5)


def test_fit_lowers_the_loss(rng):
    acoustic = build_model("bidir_rnn", input_dim=4, units=16)
    trainer = CTCTrainer(acoustic)
    trainer.compile(optimizer=keras.optimizers.Adam(1e-2))
    batch = {"features": rng.standard_normal((4, 30, 4)).astype(np.float32),
             "feature_lengths": np.full(4, 30, dtype=np.int32),
             "labels": rng.integers(1, 29, size=(4, 5)).astype(np.int32),
             "label_lengths": np.full(4, 5, dtype=np.int32)}
    first = float(trainer.test_on_batch(batch))
    for _ in range(30):
        trainer.train_on_batch(batch)
    assert float(trainer.test_on_batch(batch)) < 0.5 * first
