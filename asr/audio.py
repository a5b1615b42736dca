"""Loading audio: any file format, rate and channel count in, 16 kHz mono float32 out."""

from __future__ import annotations

import logging
from os import PathLike
from pathlib import Path

import librosa
import numpy as np
import soundfile

from asr.constants import MIN_AUDIO_SECONDS, SAMPLE_RATE
from asr.errors import AudioError

logger = logging.getLogger(__name__)

RESAMPLER = "soxr_hq"  # librosa's soxr resampler, high quality
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".opus", ".mp3", ".oga", ".aiff", ".aif")
MIN_FILE_RATE = 1_000  # Hz: slower files are refused (at 1 Hz each sample would become 16000)
MAX_FILE_RATE = 384_000  # Hz: faster files are refused (the fastest rate audio interfaces record)
MAX_FILE_CHANNELS = 64  # channels; more is a broken header, not a recording
READ_BLOCK_FRAMES = 2**15  # frames decoded at a time: a header that overstates the length allocates nothing,
# and a file damaged part way keeps the blocks before the damage
# Larger samples are refused: audio stays far below (float files scaled like 16-bit integers reach 32768),
# and mixing or resampling samples near float32's limit (3.4e38) overflows.
MAX_SAMPLE_MAGNITUDE = 1e30  # full scale is 1.0


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
        If the file is missing or not readable audio, or its sample rate or
        channel count is out of range (as for :func:`load_audio`).
    """
    path = Path(path)
    _check_file(path)
    try:
        info = soundfile.info(str(path))
    except (soundfile.LibsndfileError, RuntimeError) as error:
        raise AudioError(path, f"not a readable audio file ({_reason(error)})") from error
    _check_header(info.samplerate, info.channels, path)
    return info.frames / info.samplerate


def is_audio_file(path: str | PathLike) -> bool:
    """Tell whether a path has one of the audio extensions ``asr`` looks for."""
    return Path(path).suffix.lower() in AUDIO_EXTENSIONS


def _read_file(path: Path) -> tuple[np.ndarray, int]:
    """Decode a whole file with libsndfile as float32 of shape (n, channels).

    A file damaged or cut off part way keeps what decodes before the damage, with a logged warning.
    """
    _check_file(path)
    try:
        file = soundfile.SoundFile(str(path))
    except (soundfile.LibsndfileError, RuntimeError, ValueError, TypeError) as error:
        raise AudioError(path, f"not a readable audio file ({_reason(error)})") from error
    with file:
        _check_header(file.samplerate, file.channels, path)
        samples, damage = _read_blocks(file)
        promised = file.frames / file.samplerate if 0 < file.frames < 2**62 else None
    decoded = samples.shape[0] / file.samplerate
    if damage and not samples.shape[0]:
        raise AudioError(path, f"not a readable audio file ({damage})")
    if not samples.shape[0] and promised:
        raise AudioError(path, f"decodes to no samples although its header promises {promised:.2f} s "
                               "(truncated or damaged)")
    if damage or (promised and decoded < 0.99 * promised):
        logger.warning("%s: truncated or damaged (%s); kept the %.2f s that decode", path,
                       damage or f"its header promises {promised:.2f} s", decoded)
    return samples, file.samplerate


def _read_blocks(file: soundfile.SoundFile) -> tuple[np.ndarray, str | None]:
    """All the frames that decode, read block by block (a header may claim more than the file holds).

    Returns the frames, shape (n, channels), and the decoder's complaint if it stopped at damage.
    """
    blocks = [np.zeros((0, file.channels), dtype=np.float32)]
    try:
        while len(block := file.read(READ_BLOCK_FRAMES, dtype="float32", always_2d=True)):
            blocks.append(block)
    except (soundfile.LibsndfileError, RuntimeError, ValueError, TypeError) as error:
        return np.concatenate(blocks), _reason(error)
    return np.concatenate(blocks), None


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
    """Raise AudioError for audio with no samples, with non-finite ones, or with absurdly large ones."""
    if samples.shape[0] == 0 or samples.size == 0:
        raise AudioError(name, "has no samples")
    if not np.isfinite(samples).all():
        raise AudioError(name, "holds NaN or infinite samples")
    peak = float(np.abs(samples).max())
    if peak > MAX_SAMPLE_MAGNITUDE:
        raise AudioError(name, f"holds samples as large as {peak:.3g}; audio stays below {MAX_SAMPLE_MAGNITUDE:.0e}")
    return samples


def _check_length(samples: np.ndarray, sr: int, name) -> None:
    """Raise AudioError for audio shorter than one analysis window."""
    if samples.shape[0] < MIN_AUDIO_SECONDS * sr:
        milliseconds = 1000 * samples.shape[0] / sr
        raise AudioError(
            name, f"is {milliseconds:.1f} ms long, shorter than one {1000 * MIN_AUDIO_SECONDS:.0f} ms analysis window"
        )
