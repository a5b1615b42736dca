"""The streaming variant and its NumPy runner: causal outputs, the Keras numbers, any chunking."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from asr.errors import ModelError
from asr.models import build_model, output_length
from asr.streaming_network import STREAMING_FILE, StreamingNetwork, from_keras, load_streaming_network

DIM = 13


def _streaming_model(rng, **options):
    """A small streaming_gru with random batch-normalisation statistics (fresh ones are the identity)."""
    model = build_model("streaming_gru", input_dim=DIM, **{"filters": 8, "units": 16, "layers": 2, **options})
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, variance = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 2.0, gamma.shape), rng.normal(size=beta.shape),
                               rng.normal(size=mean.shape), rng.uniform(0.5, 2.0, variance.shape)])
    return model


@pytest.mark.parametrize("stride, lookahead", [(2, 4), (3, 0), (1, 2)])
def test_outputs_depend_only_on_the_past_and_the_lookahead(rng, stride, lookahead):
    model = _streaming_model(rng, stride=stride, lookahead=lookahead)
    features = rng.standard_normal((1, 60, DIM)).astype(np.float32)
    changed = features.copy()
    changed[:, 40:] = rng.standard_normal((1, 20, DIM))
    before, after = (keras.ops.convert_to_numpy(model(x)) for x in (features, changed))
    unaffected = (40 - lookahead - 1) // stride + 1  # output frames whose windows end before input frame 40
    np.testing.assert_allclose(before[0, :unaffected], after[0, :unaffected], atol=1e-6)
    assert np.abs(before[0, unaffected] - after[0, unaffected]).max() > 1e-4  # the next one does see frame 40


@pytest.mark.parametrize("stride, lookahead", [(2, 4), (3, 0), (1, 2)])
def test_the_numpy_network_gives_the_keras_log_probs(rng, stride, lookahead):
    model = _streaming_model(rng, stride=stride, lookahead=lookahead)
    network = from_keras(model)
    assert network.stride == stride and network.lookahead_frames == lookahead
    for frames in (1, 2, 5, 37, 100):
        features = rng.standard_normal((frames, DIM)).astype(np.float32)
        expected = keras.ops.convert_to_numpy(model(features[None]))[0]
        ours = network.log_probs(features)
        assert ours.shape == (output_length(model, frames), expected.shape[1])
        np.testing.assert_allclose(ours, expected, atol=1e-4)


def test_any_chunking_gives_the_same_log_probs(rng):
    network = from_keras(_streaming_model(rng))
    features = rng.standard_normal((211, DIM)).astype(np.float32)
    whole = network.log_probs(features)
    for _ in range(3):
        stream, parts, start = network.stream(), [], 0
        while start < len(features):
            size = int(rng.integers(0, 12))  # empty chunks and single frames included
            parts.append(stream.push(features[start:start + size]))
            start += size
        parts.append(stream.finish())
        np.testing.assert_allclose(np.concatenate(parts), whole, atol=1e-5)


def test_a_finished_stream_refuses_more_and_bad_shapes_are_named(rng):
    stream = from_keras(_streaming_model(rng)).stream()
    with pytest.raises(ValueError, match=f"expected features of shape \\(frames, {DIM}\\)"):
        stream.push(np.zeros((4, DIM + 1), np.float32))
    stream.finish()
    with pytest.raises(RuntimeError, match="finished"):
        stream.push(np.zeros((4, DIM), np.float32))


def test_a_bidirectional_model_cannot_stream(rng):
    with pytest.raises(ValueError, match="cannot stream: layer 'bigru_0_reverse'"):
        from_keras(build_model("cnn_bigru", input_dim=DIM, filters=8, units=8, layers=1))


def test_saved_arrays_are_used_only_while_they_match_model_keras(tmp_path, rng):
    model = _streaming_model(rng)
    model.save(tmp_path / "model.keras")
    features = rng.standard_normal((50, DIM)).astype(np.float32)
    converted = load_streaming_network(tmp_path)  # no streaming.npz: converted from model.keras
    from asr.streaming_network import write_streaming_network

    write_streaming_network(tmp_path)
    loaded, info = StreamingNetwork.load(tmp_path / STREAMING_FILE)
    np.testing.assert_array_equal(loaded.log_probs(features), converted.log_probs(features))
    assert len(info["model_sha256"]) == 64

    retrained = _streaming_model(rng)  # other weights: the saved arrays are stale and must be ignored
    retrained.save(tmp_path / "model.keras")
    np.testing.assert_allclose(load_streaming_network(tmp_path).log_probs(features),
                               keras.ops.convert_to_numpy(retrained(features[None]))[0], atol=1e-4)


def test_a_folder_with_a_bidirectional_model_is_a_model_error(tmp_path):
    build_model("cnn_bigru", input_dim=DIM, filters=8, units=8, layers=1).save(tmp_path / "model.keras")
    with pytest.raises(ModelError, match="--model streaming_gru"):
        load_streaming_network(tmp_path)
