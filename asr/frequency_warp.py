"""Vocal tract length perturbation: the frequency axis of each training utterance warped by a random factor.

A longer or shorter vocal tract moves every formant by about the same factor.
Warping the frequency axis of the features by a factor drawn per utterance
(Jaitly and Hinton, 2013: 0.9 to 1.1; here 0.85 to 1.15 by default) shows
the model the same words from voices it has not heard. The warp is the
piecewise-linear one of that paper: frequencies below a boundary are
multiplied by the factor, and the rest of the band is stretched so that the
Nyquist frequency stays where it is.

The features are log-mel or log-spectrogram frames; each target bin takes
the value of the source spectrum at its warped frequency, interpolated
linearly between the two nearest bins in the log domain. The warps of a grid
of factors are precomputed as matrices, so warping a batch on the fly is one
gather and one batched matrix product in ``tf.data``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from asr.features import FeatureConfig, mel_frequencies

BOUNDARY = 0.8  # share of the Nyquist frequency below which the warp is a pure scaling (before it)


@dataclass(frozen=True)
class FrequencyWarp:
    """Draw a warp factor per utterance, uniformly from a grid over [min_factor, max_factor]."""

    min_factor: float = 0.85  # < 1 moves energy down (a longer vocal tract)
    max_factor: float = 1.15  # > 1 moves energy up (a shorter vocal tract)
    steps: int = 31  # factors on the grid, the ends included

    def __post_init__(self):
        if not 0.5 <= self.min_factor <= self.max_factor <= 2.0:
            raise ValueError(f"expected 0.5 <= min_factor <= max_factor <= 2.0, got {self.min_factor}, "
                             f"{self.max_factor}")
        if self.steps < 1:
            raise ValueError(f"steps must be positive, got {self.steps}")

    @property
    def factors(self) -> np.ndarray:
        """The grid of factors, shape (steps,)."""
        return np.linspace(self.min_factor, self.max_factor, self.steps)

    def matrices(self, features: FeatureConfig) -> np.ndarray:
        """One warp matrix per factor of the grid.

        Parameters
        ----------
        features : FeatureConfig
            Log-mel or spectrogram features (MFCCs mix the bands, so they cannot be warped).

        Returns
        -------
        np.ndarray [shape=(steps, dim, dim), dtype=float32]
            ``warped_frame = matrix @ frame``; each row holds the two
            interpolation weights of its target bin.

        Raises
        ------
        ValueError
            For MFCC features.
        """
        centres = bin_frequencies(features)
        return np.stack([_interpolation_matrix(centres, _source_frequencies(centres, factor, features.sample_rate / 2))
                         for factor in self.factors]).astype(np.float32)


def bin_frequencies(features: FeatureConfig) -> np.ndarray:
    """Centre frequency in Hz of each feature bin, shape (dim,): mel band centres or FFT bins."""
    if features.kind == "logmel":  # the bands of asr.features.mel_filterbank: 0 Hz to Nyquist, Slaney's scale
        return mel_frequencies(features.n_mels + 2, fmax=features.sample_rate / 2)[1:-1]
    if features.kind == "spectrogram":
        return np.linspace(0.0, features.sample_rate / 2, features.fft_size // 2 + 1)
    raise ValueError(f"frequency warping needs logmel or spectrogram features, got {features.kind!r}")


def warp_frequency(frequency: np.ndarray, factor: float, nyquist: float) -> np.ndarray:
    """Where the warp by ``factor`` moves each frequency (Hz): scaled below the boundary, Nyquist fixed."""
    boundary = BOUNDARY * nyquist * min(factor, 1.0) / factor
    above = nyquist - (nyquist - factor * boundary) * (nyquist - frequency) / (nyquist - boundary)
    return np.where(frequency <= boundary, factor * frequency, above)


def _source_frequencies(centres: np.ndarray, factor: float, nyquist: float) -> np.ndarray:
    """For each target bin, the frequency of the unwarped spectrum that the warp moves onto it."""
    grid = np.linspace(0.0, nyquist, 4097)
    return np.interp(centres, warp_frequency(grid, factor, nyquist), grid)


def _interpolation_matrix(centres: np.ndarray, sources: np.ndarray) -> np.ndarray:
    """(dim, dim) weights reading each source frequency between its two nearest bins (clamped at the ends)."""
    position = np.interp(sources, centres, np.arange(len(centres)))
    lower = np.floor(position).astype(int)
    upper = np.minimum(lower + 1, len(centres) - 1)
    weight = position - lower
    matrix = np.zeros((len(centres), len(centres)))
    rows = np.arange(len(centres))
    np.add.at(matrix, (rows, lower), 1.0 - weight)
    np.add.at(matrix, (rows, upper), weight)
    return matrix
