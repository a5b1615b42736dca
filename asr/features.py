"""Acoustic features: log spectrogram, MFCC or log-mel frames, and their normalisation.

The spectrogram and log-mel frames are computed with NumPy alone (the same
numbers as librosa's ``stft`` and ``melspectrogram``, which the tests check),
so that transcription does not pay librosa's imports of SciPy and Numba;
MFCC imports librosa for its DCT and deltas when asked for.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from os import PathLike
from pathlib import Path

import numpy as np

from asr.constants import HOP_MS, SAMPLE_RATE, WINDOW_MS

FEATURE_KINDS = ("spectrogram", "mfcc", "logmel")
MEL_FFT_SIZE = 512  # samples: FFT of the mel kinds, fine enough that no mel band is empty
LOG_FLOOR = 1e-10  # added to power before the log, so silence stays finite
MEL_LINEAR_HZ = 200.0 / 3  # Hz per mel below the break (Slaney's scale)
MEL_BREAK_HZ = 1000.0  # Hz where the scale turns logarithmic
MEL_BREAK = MEL_BREAK_HZ / MEL_LINEAR_HZ  # mels at the break
MEL_LOG_STEP = np.log(6.4) / 27.0  # natural log of the frequency ratio per mel above the break


@dataclass(frozen=True)
class FeatureConfig:
    """How audio becomes feature frames; saved with a model so inference matches training.

    The defaults give the 161-bin log power spectrogram of the classic DNN
    speech recognizer: 20 ms Hann windows every 10 ms at 16 kHz.
    """

    kind: str = "spectrogram"  # one of FEATURE_KINDS
    sample_rate: int = SAMPLE_RATE  # Hz of the audio the features are computed on
    window_ms: float = WINDOW_MS  # ms: length of the analysis window
    hop_ms: float = HOP_MS  # ms: step between frames
    n_fft: int | None = None  # samples; None: the window for spectrogram, MEL_FFT_SIZE for mel kinds
    n_mels: int = 80  # mel bands of logmel (and the mel stage of mfcc)
    n_mfcc: int = 13  # cepstral coefficients of mfcc
    deltas: bool = False  # mfcc: append first and second derivatives

    def __post_init__(self):
        if self.kind not in FEATURE_KINDS:
            raise ValueError(f"kind must be one of {FEATURE_KINDS}, got {self.kind!r}")
        if self.window_ms <= 0 or self.hop_ms <= 0 or self.sample_rate <= 0:
            raise ValueError("window_ms, hop_ms and sample_rate must be positive")
        if self.n_fft is not None and self.n_fft < self.window_length:
            raise ValueError(f"n_fft must be at least the window ({self.window_length} samples), got {self.n_fft}")

    @property
    def window_length(self) -> int:
        """Samples in one analysis window."""
        return int(round(self.window_ms * self.sample_rate / 1000))

    @property
    def hop_length(self) -> int:
        """Samples between the starts of consecutive frames."""
        return int(round(self.hop_ms * self.sample_rate / 1000))

    @property
    def fft_size(self) -> int:
        """Samples in one FFT frame (the window, zero-padded)."""
        if self.n_fft is not None:
            return self.n_fft
        return self.window_length if self.kind == "spectrogram" else max(MEL_FFT_SIZE, self.window_length)

    @property
    def dim(self) -> int:
        """Values per frame: 161 for the default spectrogram."""
        if self.kind == "spectrogram":
            return self.fft_size // 2 + 1
        if self.kind == "logmel":
            return self.n_mels
        return self.n_mfcc * (3 if self.deltas else 1)

    @property
    def frame_rate(self) -> float:
        """Frames per second."""
        return self.sample_rate / self.hop_length

    def num_frames(self, n_samples: int) -> int:
        """Exact number of frames :func:`compute_features` returns for ``n_samples``.

        Audio shorter than one FFT frame is zero-padded to one frame.
        """
        if n_samples < 0:
            raise ValueError(f"n_samples must be >= 0, got {n_samples}")
        if n_samples == 0:
            return 0
        return 1 + (max(n_samples, self.fft_size) - self.fft_size) // self.hop_length

    def to_dict(self) -> dict:
        """Plain values for JSON."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "FeatureConfig":
        """Rebuild a config from :meth:`to_dict` output."""
        return cls(**values)


def compute_features(samples: np.ndarray, config: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """Compute feature frames of mono audio.

    Parameters
    ----------
    samples : np.ndarray [shape=(n,), dtype=float32]
        Audio at ``config.sample_rate`` Hz, ``n >= 1``.
    config : FeatureConfig
        Which features.

    Returns
    -------
    np.ndarray [shape=(config.num_frames(n), config.dim), dtype=float32]
        One row a frame, un-normalised.
    """
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim != 1 or samples.size == 0:
        raise ValueError(f"expected mono samples of shape (n,) with n >= 1, got {samples.shape}")
    if samples.size < config.fft_size:
        samples = np.pad(samples, (0, config.fft_size - samples.size))
    power = _power_spectrogram(samples, config)
    if config.kind == "spectrogram":
        frames = np.log(power + LOG_FLOOR)
    else:
        mel = mel_filterbank(config.sample_rate, config.fft_size, config.n_mels) @ power
        frames = np.log(mel + LOG_FLOOR) if config.kind == "logmel" else _mfcc(mel, config)
    return np.ascontiguousarray(frames.T, dtype=np.float32)


def _power_spectrogram(samples: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """|STFT|^2 of shape (fft_size // 2 + 1, frames), frames not centred."""
    window = _padded_hann(config.window_length, config.fft_size)
    count = 1 + (samples.size - config.fft_size) // config.hop_length
    frames = np.lib.stride_tricks.sliding_window_view(samples, config.fft_size)[::config.hop_length][:count]
    spectrum = np.fft.rfft(frames * window, axis=1)
    return (spectrum.real ** 2 + spectrum.imag ** 2).T.astype(np.float32)


def _padded_hann(length: int, size: int) -> np.ndarray:
    """A periodic Hann window of ``length`` samples centred in ``size`` zeros (librosa's ``stft`` window)."""
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(length) / length)
    left = (size - length) // 2
    return np.pad(window, (left, size - length - left)).astype(np.float32)


def hz_to_mel(hz):
    """Slaney's mel scale (librosa's default): linear below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / MEL_LINEAR_HZ
    logarithmic = MEL_BREAK + np.log(np.maximum(hz, 1e-10) / MEL_BREAK_HZ) / MEL_LOG_STEP
    return np.where(hz >= MEL_BREAK_HZ, logarithmic, linear)


def mel_to_hz(mel):
    """The inverse of :func:`hz_to_mel`."""
    mel = np.asarray(mel, dtype=np.float64)
    return np.where(mel >= MEL_BREAK, MEL_BREAK_HZ * np.exp(MEL_LOG_STEP * (mel - MEL_BREAK)), MEL_LINEAR_HZ * mel)


def mel_frequencies(count: int, *, fmax: float) -> np.ndarray:
    """``count`` frequencies (Hz) equally spaced on the mel scale from 0 to ``fmax``."""
    return mel_to_hz(np.linspace(0.0, hz_to_mel(fmax), count))


def mel_filterbank(sample_rate: int, fft_size: int, n_mels: int) -> np.ndarray:
    """Slaney-normalised triangular mel filters from 0 Hz to Nyquist (librosa's ``filters.mel`` defaults).

    Returns
    -------
    np.ndarray [shape=(n_mels, fft_size // 2 + 1), dtype=float32]
    """
    return _mel_filterbank(int(sample_rate), int(fft_size), int(n_mels))


@functools.lru_cache(maxsize=8)
def _mel_filterbank(sample_rate: int, fft_size: int, n_mels: int) -> np.ndarray:
    bins = np.linspace(0.0, sample_rate / 2, fft_size // 2 + 1)
    edges = mel_frequencies(n_mels + 2, fmax=sample_rate / 2)
    widths = np.diff(edges)
    ramps = edges[:, None] - bins[None, :]
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    weights = weights.astype(np.float32)
    weights.flags.writeable = False
    return weights


def _mfcc(mel: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """MFCCs (and optionally their deltas) of shape (dim, frames) from a mel power spectrogram."""
    import librosa

    coefficients = librosa.feature.mfcc(S=librosa.power_to_db(mel), n_mfcc=config.n_mfcc)
    if not config.deltas:
        return coefficients
    delta = librosa.feature.delta(coefficients, order=1, mode="nearest")
    delta2 = librosa.feature.delta(coefficients, order=2, mode="nearest")
    return np.concatenate([coefficients, delta, delta2], axis=0)


@dataclass(frozen=True, eq=False)
class Normalizer:
    """Per-dimension mean and standard deviation, fitted on training features.

    Saved as JSON next to a model, so inference never reads training data.

    Parameters
    ----------
    mean, std : np.ndarray [shape=(dim,), dtype=float32]
    frames : int
        How many frames the statistics were fitted on.
    """

    mean: np.ndarray
    std: np.ndarray
    frames: int = field(default=0)

    def __call__(self, features: np.ndarray) -> np.ndarray:
        """Return ``(features - mean) / std``, shape (frames, dim), float32."""
        features = np.asarray(features, dtype=np.float32)
        if features.shape[-1] != self.mean.shape[0]:
            raise ValueError(f"expected features with {self.mean.shape[0]} values a frame, got shape {features.shape}")
        return ((features - self.mean) / self.std).astype(np.float32)

    @classmethod
    def fit(cls, feature_arrays: Iterable[np.ndarray], *, min_std: float = 1e-5) -> "Normalizer":
        """Fit the statistics in one streaming pass (Chan et al.'s parallel update).

        Parameters
        ----------
        feature_arrays : iterable of np.ndarray [shape=(frames, dim)]
            Features of each training utterance; read once, never held together.
        min_std : float
            Floor on the standard deviation, so constant dimensions stay finite.
        """
        count, mean, m2 = 0, None, None
        for features in feature_arrays:
            features = np.asarray(features, dtype=np.float64)
            n = features.shape[0]
            if n == 0:
                continue
            batch_mean = features.mean(axis=0)
            batch_m2 = ((features - batch_mean) ** 2).sum(axis=0)
            if mean is None:
                count, mean, m2 = n, batch_mean, batch_m2
                continue
            delta = batch_mean - mean
            total = count + n
            mean = mean + delta * n / total
            m2 = m2 + batch_m2 + delta**2 * count * n / total
            count = total
        if mean is None:
            raise ValueError("cannot fit a Normalizer on no frames")
        std = np.maximum(np.sqrt(m2 / count), min_std)
        return cls(mean=mean.astype(np.float32), std=std.astype(np.float32), frames=count)

    def save(self, path: str | PathLike) -> None:
        """Write the statistics as JSON."""
        payload = {"mean": self.mean.tolist(), "std": self.std.tolist(), "frames": self.frames}
        Path(path).write_text(json.dumps(payload) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | PathLike) -> "Normalizer":
        """Read statistics written by :meth:`save`."""
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
        mean = np.asarray(payload["mean"], dtype=np.float32)
        std = np.asarray(payload["std"], dtype=np.float32)
        if mean.shape != std.shape or mean.ndim != 1 or not (std > 0).all():
            raise ValueError(f"{path}: expected equal-length mean and positive std lists")
        return cls(mean=mean, std=std, frames=int(payload.get("frames", 0)))
