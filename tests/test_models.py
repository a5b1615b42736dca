"""Model variants: exact output lengths, log-probabilities, safe-mode saving."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from asr import NUM_CLASSES
from asr.models import VARIANTS, build_model, output_length

SMALL = {
    "rnn": {},
    "rnn_td": {"units": 16},
    "cnn_rnn": {"filters": 8, "units": 16},
    "deep_rnn": {"units": 16, "layers": 3},
    "bidir_rnn": {"units": 16},
    "cnn_bigru": {"filters": 8, "units": 16, "layers": 2, "stride": 3},
    "streaming_gru": {"filters": 8, "units": 16, "layers": 2, "stride": 3, "lookahead": 2},
    "deepspeech2": {"filters": 4, "units": 16, "layers": 2, "dense_units": 16},
}


def test_every_variant_is_covered():
    assert set(SMALL) == set(VARIANTS)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_output_length_matches_the_real_output_for_random_lengths(name, rng):
    model = build_model(name, input_dim=23, **SMALL[name])
    for length in rng.integers(11, 160, size=4):
        log_probs = keras.ops.convert_to_numpy(model(np.zeros((2, int(length), 23), dtype=np.float32)))
        assert log_probs.shape == (2, output_length(model, int(length)), NUM_CLASSES)
        np.testing.assert_allclose(np.exp(log_probs).sum(axis=-1), 1.0, rtol=1e-4)
    lengths = rng.integers(11, 500, size=10)
    np.testing.assert_array_equal(output_length(model, lengths), [output_length(model, int(n)) for n in lengths])


@pytest.mark.parametrize("padding, kernel, stride", [("valid", 11, 2), ("same", 5, 3), ("valid", 3, 1)])
def test_cnn_rnn_padding_and_strides(padding, kernel, stride):
    model = build_model("cnn_rnn", input_dim=7, filters=4, units=8, padding=padding, kernel_size=kernel, stride=stride)
    for length in (kernel, kernel + 1, 37, 100):
        assert model(np.zeros((1, length, 7), np.float32)).shape[1] == output_length(model, length)


def test_a_saved_model_loads_in_safe_mode_with_the_same_outputs(tmp_path, rng):
    model = build_model("cnn_bigru", input_dim=13, filters=8, units=8, layers=1)
    features = rng.standard_normal((1, 50, 13)).astype(np.float32)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    np.testing.assert_allclose(loaded(features), model(features), rtol=1e-5, atol=1e-6)
    assert output_length(loaded, 50) == output_length(model, 50) == 25


def test_unknown_model_and_bad_options_are_rejected():
    with pytest.raises(ValueError, match="unknown model 'transformer'"):
        build_model("transformer", input_dim=10)
    with pytest.raises(ValueError, match="bad options"):
        build_model("cnn_bigru", input_dim=10, colour="red")


@pytest.mark.parametrize("name", sorted(SMALL))
def test_an_utterance_scores_the_same_alone_and_in_a_padded_batch(name, rng):
    """The padding mask: batch-mates and their padding never change an utterance's log-probabilities."""
    model = build_model(name, input_dim=23, **SMALL[name])
    lengths = rng.integers(20, 120, size=3)
    utterances = [rng.standard_normal((int(n), 23)).astype(np.float32) for n in lengths]
    batch = np.zeros((len(lengths), int(lengths.max()) + int(rng.integers(1, 30)), 23), dtype=np.float32)
    for row, features in enumerate(utterances):
        batch[row, : features.shape[0]] = features
    together = keras.ops.convert_to_numpy(model(batch, training=False))
    for row, features in enumerate(utterances):
        alone = keras.ops.convert_to_numpy(model(features[None], training=False))[0]
        frames = output_length(model, features.shape[0])
        assert np.abs(together[row, :frames] - alone[:frames]).max() < 1e-4


def test_a_frame_of_zeros_inside_an_utterance_is_not_padding(rng):
    """Only trailing all-zero frames are padding: a zeroed frame mid-utterance (SpecAugment's) still counts."""
    model = build_model("bidir_rnn", input_dim=5, units=8)
    features = rng.standard_normal((1, 30, 5)).astype(np.float32)
    features[0, 10:14] = 0.0
    changed = features.copy()
    changed[0, 25] += 1.0
    first = keras.ops.convert_to_numpy(model(features))[0, 12]
    second = keras.ops.convert_to_numpy(model(changed))[0, 12]
    assert np.abs(first - second).max() > 1e-6  # a masked frame's output could not depend on later frames


def test_a_model_saved_with_keras_bidirectional_layers_starts_todays_variant(rng):
    """copy_weights maps Bidirectional NAME onto NAME_forward / NAME_backward: same scores where the padding agrees."""
    from keras import layers

    from asr.models import copy_weights

    inputs = keras.Input((None, 13))
    x = layers.Conv1D(8, 11, strides=2, padding="same", use_bias=False, name="conv")(inputs)
    x = layers.BatchNormalization(name="conv_norm")(x)
    x = layers.ReLU(name="conv_relu")(x)
    x = layers.Bidirectional(layers.GRU(8, return_sequences=True), name="bigru_0")(x)
    x = layers.BatchNormalization(name="bigru_norm_0")(x)
    x = layers.Dense(NUM_CLASSES, name="time_distributed_dense")(x)
    old = keras.Model(inputs, layers.Activation("log_softmax", name="log_probs")(x))
    new = build_model("cnn_bigru", input_dim=13, filters=8, units=8, layers=1)
    copy_weights(old, new)
    features = rng.standard_normal((1, 41, 13)).astype(np.float32)  # odd: "same" pads 5 frames before, as we do
    np.testing.assert_allclose(keras.ops.convert_to_numpy(new(features)), keras.ops.convert_to_numpy(old(features)),
                               atol=1e-5)
    with pytest.raises(ValueError, match="one side only"):
        copy_weights(old, build_model("cnn_bigru", input_dim=13, filters=8, units=8, layers=2))


@pytest.mark.parametrize("norm", ["mean", "meanvar"])
def test_utterance_normalisation_makes_the_model_blind_to_a_channels_constant_colour(norm, rng):
    """A fixed gain per feature (a microphone's colour) and offset change nothing with meanvar; an offset with mean."""
    model = build_model("cnn_bigru", input_dim=23, filters=8, units=8, layers=1, utterance_norm=norm)
    features = rng.standard_normal((1, 60, 23)).astype(np.float32)
    gain = rng.uniform(0.5, 2.0, 23).astype(np.float32) if norm == "meanvar" else np.float32(1.0)
    coloured = features * gain + rng.normal(0, 3, 23).astype(np.float32)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(coloured)),  # to the variance's epsilon (1e-3)
                               keras.ops.convert_to_numpy(model(features)), atol=2e-3)
    assert np.abs(keras.ops.convert_to_numpy(model(features + 3.0)) - keras.ops.convert_to_numpy(model(features))).max() \
        < 2e-3
    batch = np.zeros((2, 90, 23), np.float32)
    batch[0, :60], batch[1] = coloured[0], rng.standard_normal((90, 23))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(batch))[0, :30],
                               keras.ops.convert_to_numpy(model(coloured))[0], atol=1e-4)


def test_an_unknown_utterance_normalisation_is_refused():
    with pytest.raises(ValueError, match="utterance_norm must be one of"):
        build_model("cnn_bigru", input_dim=10, utterance_norm="cepstral")
