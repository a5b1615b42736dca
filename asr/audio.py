"""Loading audio: any file format, rate and channel count in, 16 kHz mono float32 out."""

from __future__ import annotations

from os import PathLike
from pathlib import Path

import librosa
import numpy as np
import soundfile

from asr.constants import MIN_AUDIO_SECONDS, SAMPLE_RATE
from asr.errors import AudioError

RESAMPLER = "soxr_hq"  # librosa's soxr resampler, high quality
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".opus", ".mp3", ".oga", ".aiff", ".aif")


def load_audio(source, *, sr: int = SAMPLE_RATE, source_sr: int | None = None) -> np.ndarray:
    """Load audio from a file or an array as mono float32 at ``sr`` Hz.

    Parameters
    ----------
    source : str, PathLike or np.ndarray
        A file (wav of 8/16/24/32-bit integers or floats, flac, ogg/vorbis,
        ogg/opus, mp3), or samples of shape ``(n,)`` or ``(n, channels)``;
        integer samples are scaled from their type's full range.
    sr : int
        The rate to return, in Hz.
    source_sr : int, optional
        The rate of ``source`` in Hz; required when it is an array.

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float32]
        Samples at ``sr`` Hz, channels averaged.

    Raises
    ------
    AudioError
        Missing or empty file, bytes that are not audio, no samples, NaN or
        infinite samples, or audio shorter than one analysis window. The
        message names the file and the problem.

    Examples
    --------
    >>> samples = load_audio("speech.flac")  # doctest: +SKIP
    >>> samples.dtype, samples.ndim
    (dtype('float32'), 1)
    """
    if isinstance(source, (str, PathLike)):
        name, (samples, rate) = source, _read_file(Path(source))
    else:
        name, (samples, rate) = None, _from_array(source, source_sr)
    samples = _check_samples(samples, name)
    mono = samples.mean(axis=1) if samples.ndim == 2 else samples
    if rate != sr:
        mono = librosa.resample(mono, orig_sr=rate, target_sr=sr, res_type=RESAMPLER)
    _check_length(mono, sr, name)
    return np.ascontiguousarray(mono, dtype=np.float32)


def audio_duration(path: str | PathLike) -> float:
    """Return the length of an audio file in seconds, read from its header.

    Raises
    ------
    AudioError
        If the file is missing or not readable audio.
    """
    path = Path(path)
    _check_file(path)
    try:
        info = soundfile.info(str(path))
    except (soundfile.LibsndfileError, RuntimeError) as error:
        raise AudioError(path, f"not a readable audio file ({error})") from error
    return info.frames / info.samplerate


def is_audio_file(path: str | PathLike) -> bool:
    """Tell whether a path has one of the audio extensions ``asr`` looks for."""
    return Path(path).suffix.lower() in AUDIO_EXTENSIONS


def _read_file(path: Path) -> tuple[np.ndarray, int]:
    """Decode a whole file with libsndfile as float32 of shape (n, channels)."""
    _check_file(path)
    try:
        samples, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, ValueError, TypeError) as error:
        raise AudioError(path, f"not a readable audio file ({error})") from error
    return samples, rate


def _check_file(path: Path) -> None:
    """Raise AudioError unless ``path`` is a non-empty regular file."""
    if not path.exists():
        raise AudioError(path, "no such file")
    if path.is_dir():
        raise AudioError(path, "is a folder, not an audio file")
    if path.stat().st_size == 0:
        raise AudioError(path, "file is empty (0 bytes)")


def _from_array(samples, source_sr: int | None) -> tuple[np.ndarray, int]:
    """Turn an in-memory array into float32 samples of shape (n,) or (n, channels)."""
    if source_sr is None or int(source_sr) <= 0:
        raise AudioError(None, f"an array needs its sample rate as source_sr > 0, got {source_sr!r}")
    samples = np.asarray(samples)
    if samples.ndim not in (1, 2):
        raise AudioError(None, f"expected samples of shape (n,) or (n, channels), got {samples.shape}")
    if samples.dtype.kind in "iu":
        samples = _integers_to_float(samples)
    elif samples.dtype.kind != "f":
        raise AudioError(None, f"expected integer or float samples, got dtype {samples.dtype}")
    return samples.astype(np.float32, copy=False), int(source_sr)


def _integers_to_float(samples: np.ndarray) -> np.ndarray:
    """Scale integer PCM from its type's full range onto [-1, 1)."""
    info = np.iinfo(samples.dtype)
    middle = (int(info.max) + int(info.min) + 1) / 2  # 128 for uint8, 0 for signed types
    return (samples.astype(np.float64) - middle) / (int(info.max) + 1 - middle)


def _check_samples(samples: np.ndarray, name) -> np.ndarray:
    """Raise AudioError for audio with no samples or with non-finite ones."""
    if samples.shape[0] == 0 or samples.size == 0:
        raise AudioError(name, "has no samples")
    if not np.isfinite(samples).all():
        raise AudioError(name, "holds NaN or infinite samples")
    return samples


def _check_length(samples: np.ndarray, sr: int, name) -> None:
    """Raise AudioError for audio shorter than one analysis window."""
    if samples.shape[0] < MIN_AUDIO_SECONDS * sr:
        milliseconds = 1000 * samples.shape[0] / sr
        raise AudioError(
            name, f"is {milliseconds:.1f} ms long, shorter than one {1000 * MIN_AUDIO_SECONDS:.0f} ms analysis window"
        )
