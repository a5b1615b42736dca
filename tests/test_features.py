"""Feature kinds, exact frame counts, and the streamed normaliser."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asr import FeatureConfig, Normalizer, compute_features
from asr.features import LOG_FLOOR, mel_filterbank

KINDS = [
    (FeatureConfig(), 161),
    (FeatureConfig(kind="logmel"), 80),
    (FeatureConfig(kind="mfcc"), 13),
    (FeatureConfig(kind="mfcc", deltas=True), 39),
]


@pytest.mark.parametrize("config, dim", KINDS, ids=["spectrogram", "logmel", "mfcc", "mfcc+deltas"])
def test_each_kind_has_its_dimension(config, dim, rng):
    samples = rng.standard_normal(16000).astype(np.float32) * 0.1
    features = compute_features(samples, config)
    assert config.dim == dim
    assert features.shape == (config.num_frames(16000), dim)
    assert features.dtype == np.float32 and np.isfinite(features).all()


def test_default_spectrogram_is_the_classic_one():
    config = FeatureConfig()
    assert (config.window_length, config.hop_length, config.dim) == (320, 160, 161)
    assert config.frame_rate == 100.0


@settings(max_examples=40, deadline=None)
@given(n=st.integers(min_value=1, max_value=6000), kind=st.sampled_from(["spectrogram", "logmel", "mfcc"]))
def test_num_frames_is_exact(n, kind):
    config = FeatureConfig(kind=kind)
    samples = np.random.default_rng(n).standard_normal(n).astype(np.float32)
    assert compute_features(samples, config).shape[0] == config.num_frames(n)


def test_silence_gives_finite_features():
    features = compute_features(np.zeros(8000, dtype=np.float32))
    assert np.isfinite(features).all()


def test_a_tone_peaks_in_its_frequency_bin():
    t = np.arange(16000) / 16000
    features = compute_features(np.sin(2 * np.pi * 1000 * t).astype(np.float32))
    assert features.mean(axis=0).argmax() == 1000 // 50  # bins are 50 Hz apart


def test_config_round_trips_through_a_dict():
    config = FeatureConfig(kind="mfcc", deltas=True, hop_ms=15)
    assert FeatureConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize("values", [{"kind": "wavelet"}, {"hop_ms": 0}, {"n_fft": 100}])
def test_bad_configs_are_rejected(values):
    with pytest.raises(ValueError):
        FeatureConfig(**values)


def test_normalizer_streams_to_the_statistics_of_all_frames(rng, tmp_path):
    chunks = [rng.normal(3.0, 2.0, size=(n, 5)).astype(np.float32) for n in (7, 1, 300, 42)]
    normalizer = Normalizer.fit(iter(chunks))
    everything = np.concatenate(chunks)
    np.testing.assert_allclose(normalizer.mean, everything.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(normalizer.std, everything.std(axis=0), rtol=1e-5)
    normalised = normalizer(everything)
    np.testing.assert_allclose(normalised.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(normalised.std(axis=0), 1, atol=1e-4)
    normalizer.save(tmp_path / "normalizer.json")
    loaded = Normalizer.load(tmp_path / "normalizer.json")
    np.testing.assert_array_equal(loaded.mean, normalizer.mean)
    assert loaded.frames == everything.shape[0]


def test_normalizer_floors_constant_dimensions():
    normalizer = Normalizer.fit([np.ones((10, 2), dtype=np.float32)])
    assert np.isfinite(normalizer(np.ones((3, 2)))).all()


def test_normalizer_rejects_the_wrong_dimension():
    normalizer = Normalizer.fit([np.zeros((4, 3))])
    with pytest.raises(ValueError, match="3 values a frame"):
        normalizer(np.zeros((4, 5)))


@pytest.mark.parametrize("kind", ["logmel", "spectrogram"])
def test_numpy_frames_match_librosa(kind, rng):
    import librosa

    config = FeatureConfig(kind=kind)
    samples = (rng.standard_normal(16_000 * 2) * 0.1).astype(np.float32)
    power = np.abs(librosa.stft(samples, n_fft=config.fft_size, hop_length=config.hop_length,
                                win_length=config.window_length, window="hann", center=False)) ** 2
    if kind == "logmel":
        power = librosa.feature.melspectrogram(S=power, sr=config.sample_rate, n_mels=config.n_mels)
    np.testing.assert_allclose(compute_features(samples, config), np.log(power + LOG_FLOOR).T, atol=5e-4)


def test_mel_filterbank_is_librosas():
    import librosa

    np.testing.assert_allclose(mel_filterbank(16_000, 512, 80), librosa.filters.mel(sr=16_000, n_fft=512, n_mels=80),
                               atol=1e-7)
