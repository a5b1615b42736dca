"""Loading audio: any file format, rate and channel count in, 16 kHz mono float32 out."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from os import PathLike
from pathlib import Path

import numpy as np
import soundfile
import soxr

from asr.constants import MIN_AUDIO_SECONDS, SAMPLE_RATE
from asr.errors import AudioError

logger = logging.getLogger(__name__)

RESAMPLER_QUALITY = "HQ"  # soxr's high quality (what librosa calls soxr_hq)
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".opus", ".mp3", ".oga", ".aiff", ".aif")
MIN_FILE_RATE = 1_000  # Hz: slower files are refused (at 1 Hz each sample would become 16000)
MAX_FILE_RATE = 384_000  # Hz: faster files are refused (the fastest rate audio interfaces record)
MAX_FILE_CHANNELS = 64  # channels; more is a broken header, not a recording
READ_BLOCK_FRAMES = 2**15  # frames decoded at a time: a header that overstates the length allocates nothing,
# and a file damaged part way keeps the blocks before the damage
# Larger samples are refused: audio stays far below (float files scaled like 16-bit integers reach 32768),
# and the power spectrum of much larger ones overflows float32 (3.4e38) into infinite features.
MAX_SAMPLE_MAGNITUDE = 1e6  # full scale is 1.0
DECODE_ERRORS = (soundfile.LibsndfileError, RuntimeError, ValueError, TypeError)  # what libsndfile raises
BLOCK_SECONDS = 60.0  # s of a file decoded at a time by stream_audio


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
        Missing or empty file, bytes that are not audio, a file's sample
        rate outside [1, 384] kHz or more than 64 channels, no samples, NaN
        or infinite samples, samples beyond +-1e30, or audio shorter than
        one analysis window. The message names the file and the problem.

    Examples
    --------
    >>> samples = load_audio("speech.flac")  # doctest: +SKIP
    >>> samples.dtype, samples.ndim
    (dtype('float32'), 1)
    """
    if isinstance(source, (str, PathLike)):
        return np.concatenate(list(stream_audio(source, sr=sr)))
    samples, rate = _from_array(source, source_sr)
    mono = _mono(_check_samples(samples, None))
    if rate != sr:
        mono = soxr.resample(mono, rate, sr, quality=RESAMPLER_QUALITY)
    _check_length(mono.shape[0] / sr, None)
    return np.ascontiguousarray(mono, dtype=np.float32)


def stream_audio(path: str | PathLike, *, sr: int = SAMPLE_RATE,
                 block_seconds: float | None = None) -> Iterator[np.ndarray]:
    """Decode a file a block at a time, as mono float32 at ``sr`` Hz: memory stays that of one block.

    Parameters
    ----------
    path : str or PathLike
        Any file :func:`load_audio` reads.
    sr : int
        The rate to return, in Hz.
    block_seconds : float, optional
        Seconds of the file decoded at a time (default BLOCK_SECONDS); every block but the last is
        about this long. Memory holds one block of the file's channels, at most READ_BLOCK_FRAMES at
        a time, and one block of mono samples.

    Yields
    ------
    np.ndarray [shape=(n,), dtype=float32]
        Consecutive samples at ``sr`` Hz, channels averaged (resampled as one stream, so the
        blocks join without seams).

    Raises
    ------
    AudioError
        As :func:`load_audio`, when the problem shows: a bad header before the first block, NaN
        samples at their block, a file too short or empty after the last one. A file damaged part
        way ends at the damage, with a logged warning.
    """
    path = Path(path)
    with _open(path) as file:
        rate, frames = file.samplerate, max(1, int((block_seconds or BLOCK_SECONDS) * file.samplerate))
        resampler = soxr.ResampleStream(rate, sr, 1, dtype="float32", quality=RESAMPLER_QUALITY) if rate != sr else None
        promised = file.frames / rate if 0 < file.frames < 2**62 else None
        decoded, damage, last = 0, None, False
        while not last:
            mono, damage = _read_block(file, frames, path)
            last = damage is not None or mono.shape[0] < frames
            decoded += mono.shape[0]
            if resampler is not None:
                mono = resampler.resample_chunk(mono, last=last)
            if mono.size:
                yield mono
    _check_decoded(path, decoded / rate, promised, damage)


def audio_duration(path: str | PathLike) -> float:
    """Return the length of an audio file in seconds, read from its header.

    Raises
    ------
    AudioError
        If the file is missing or not readable audio, or its sample rate or
        channel count is out of range (as for :func:`load_audio`).
    """
    with _open(Path(path)) as file:
        return file.frames / file.samplerate


def is_audio_file(path: str | PathLike) -> bool:
    """Tell whether a path has one of the audio extensions ``asr`` looks for."""
    return Path(path).suffix.lower() in AUDIO_EXTENSIONS


def _open(path: Path) -> soundfile.SoundFile:
    """An audio file opened for reading, its header checked."""
    _check_file(path)
    try:
        file = soundfile.SoundFile(str(path))
    except DECODE_ERRORS as error:
        raise AudioError(path, f"not a readable audio file ({_reason(error)})") from error
    try:
        _check_header(file.samplerate, file.channels, path)
    except AudioError:
        file.close()
        raise
    return file


def _read_block(file: soundfile.SoundFile, frames: int, path: Path) -> tuple[np.ndarray, str | None]:
    """Up to ``frames`` frames mixed to mono, shape (n,), read and checked READ_BLOCK_FRAMES at a time.

    Returns the samples and, if the decoder stopped at damage, its complaint; the samples before
    the damage are kept.
    """
    parts, count = [np.zeros(0, dtype=np.float32)], 0
    while count < frames:
        try:
            part = file.read(min(READ_BLOCK_FRAMES, frames - count), dtype="float32", always_2d=True)
        except DECODE_ERRORS as error:
            return np.concatenate(parts), _reason(error)
        if not len(part):
            break
        parts.append(_mono(_check_values(part, path)))
        count += len(part)
    return np.concatenate(parts), None


def _check_decoded(path: Path, decoded: float, promised: float | None, damage: str | None) -> None:
    """After the last block: raise AudioError for a file that gave nothing or too little; warn if it was cut."""
    if not decoded:
        if damage:
            raise AudioError(path, f"not a readable audio file ({damage})")
        if promised:
            raise AudioError(path, f"decodes to no samples although its header promises {promised:.2f} s "
                                   "(truncated or damaged)")
        raise AudioError(path, "has no samples")
    _check_length(decoded, path)
    if damage or (promised and decoded < 0.99 * promised):
        logger.warning("%s: truncated or damaged (%s); kept the %.2f s that decode", path,
                       damage or f"its header promises {promised:.2f} s", decoded)


def _reason(error: Exception) -> str:
    """libsndfile's message, minus its misleading guess for files it cannot place."""
    message = str(error)
    if "File does not exist or is not a regular file" in message:  # said of existing files in unknown formats
        return "format not recognised, or the file is damaged"
    return message.replace("Error : ", "")


def _check_header(rate: int, channels: int, path: Path) -> None:
    """Raise AudioError for a sample rate or channel count that no recording has."""
    if not MIN_FILE_RATE <= rate <= MAX_FILE_RATE:
        raise AudioError(path, f"sample rate {rate} Hz is outside [{MIN_FILE_RATE}, {MAX_FILE_RATE}] Hz")
    if channels > MAX_FILE_CHANNELS:
        raise AudioError(path, f"has {channels} channels, more than {MAX_FILE_CHANNELS}")


def _check_file(path: Path) -> None:
    """Raise AudioError unless ``path`` is a non-empty regular file we may read."""
    try:
        if not path.exists():
            raise AudioError(path, "no such file")
        if path.is_dir():
            raise AudioError(path, "is a folder, not an audio file")
        if path.stat().st_size == 0:
            raise AudioError(path, "file is empty (0 bytes)")
        if not os.access(path, os.R_OK):
            raise AudioError(path, "cannot be read (permission denied)")
    except (OSError, RuntimeError) as error:  # an unreadable folder on the way, a symlink loop
        raise AudioError(path, f"cannot be read ({error})") from error


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


def _mono(samples: np.ndarray) -> np.ndarray:
    """Channels averaged: shape (n,) from (n,) or (n, channels)."""
    return samples.mean(axis=1) if samples.ndim == 2 else samples


def _check_samples(samples: np.ndarray, name) -> np.ndarray:
    """Raise AudioError for audio with no samples, with non-finite ones, or with absurdly large ones."""
    if samples.shape[0] == 0 or samples.size == 0:
        raise AudioError(name, "has no samples")
    return _check_values(samples, name)


def _check_values(samples: np.ndarray, name) -> np.ndarray:
    """Raise AudioError for non-finite samples or absurdly large ones; empty arrays pass."""
    if not samples.size:
        return samples
    if not np.isfinite(samples).all():
        raise AudioError(name, "holds NaN or infinite samples")
    peak = float(np.abs(samples).max())
    if peak > MAX_SAMPLE_MAGNITUDE:
        raise AudioError(name, f"holds samples as large as {peak:.3g}; audio stays below {MAX_SAMPLE_MAGNITUDE:.0e}")
    return samples


def _check_length(seconds: float, name) -> None:
    """Raise AudioError for audio shorter than one analysis window."""
    if seconds < MIN_AUDIO_SECONDS:
        raise AudioError(name, f"is {1000 * seconds:.1f} ms long, shorter than one "
                               f"{1000 * MIN_AUDIO_SECONDS:.0f} ms analysis window")
