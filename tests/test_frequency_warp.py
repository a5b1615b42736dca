"""Vocal tract length perturbation: warp matrices that move spectral peaks by the drawn factor."""

from __future__ import annotations

import numpy as np
import pytest

from asr import FeatureConfig
from asr.features import compute_features
from asr.frequency_warp import FrequencyWarp, bin_frequencies, warp_frequency
from conftest import tone


def test_factor_one_is_the_identity():
    matrices = FrequencyWarp(min_factor=1.0, max_factor=1.0, steps=1).matrices(FeatureConfig(kind="logmel"))
    np.testing.assert_allclose(matrices[0], np.eye(80), atol=1e-6)


@pytest.mark.parametrize("kind", ["logmel", "spectrogram"])
def test_each_target_bin_interpolates_between_two_neighbours(kind):
    matrices = FrequencyWarp().matrices(FeatureConfig(kind=kind))
    np.testing.assert_allclose(matrices.sum(axis=2), 1.0, atol=1e-6)
    assert ((matrices > 0).sum(axis=2) <= 2).all()
    assert (matrices >= 0).all()


@pytest.mark.parametrize("factor", [0.87, 1.13])
def test_a_tone_moves_by_the_factor(factor):
    """The warped features of a 1 kHz tone peak where those of a (factor x 1 kHz) tone peak."""
    config = FeatureConfig(kind="spectrogram")
    frequencies = bin_frequencies(config)
    warp = FrequencyWarp(min_factor=factor, max_factor=factor, steps=1)
    warped = compute_features(tone(0.5, frequency=1000.0), config) @ warp.matrices(config)[0].T
    peak = frequencies[np.argmax(warped.mean(axis=0))]
    assert abs(peak - 1000.0 * factor) <= frequencies[1]  # within one bin (100 Hz)


def test_the_warp_keeps_zero_and_nyquist_and_is_monotonic():
    grid = np.linspace(0, 8000, 1001)
    for factor in (0.85, 1.0, 1.15):
        warped = warp_frequency(grid, factor, 8000.0)
        assert warped[0] == 0 and abs(warped[-1] - 8000) < 1e-6
        assert (np.diff(warped) > 0).all()


def test_mfcc_and_bad_ranges_are_refused():
    with pytest.raises(ValueError, match="logmel or spectrogram"):
        FrequencyWarp().matrices(FeatureConfig(kind="mfcc"))
    with pytest.raises(ValueError, match="min_factor <= max_factor"):
        FrequencyWarp(min_factor=1.2, max_factor=0.9)
