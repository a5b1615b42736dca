"""Manifests: JSON lines of utterances (``audio_filepath``, ``duration``, ``text``)."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

from asr.errors import ManifestError, TextError
from asr.files import write_text_atomically
from asr.text import normalize_text

logger = logging.getLogger(__name__)

REQUIRED_KEYS = ("audio_filepath", "duration", "text")


@dataclass(frozen=True)
class Utterance:
    """One line of a manifest.

    Attributes
    ----------
    audio_filepath : Path
        The audio file, absolute.
    duration : float
        Length of the audio in seconds.
    text : str
        The transcript, normalised.
    extra : dict
        Any other keys of the line (speaker, source, ...), kept as they were.
    """

    audio_filepath: Path
    duration: float
    text: str
    extra: dict = field(default_factory=dict, compare=False)


class UtteranceSequence:
    """Sequence behaviour (len, iteration, indexing, total duration) over an ``utterances`` tuple."""

    utterances: tuple[Utterance, ...]

    def __len__(self) -> int:
        return len(self.utterances)

    def __iter__(self) -> Iterator[Utterance]:
        return iter(self.utterances)

    def __getitem__(self, index: int) -> Utterance:
        return self.utterances[index]

    @property
    def duration(self) -> float:
        """Seconds of audio in all usable utterances."""
        return sum(utterance.duration for utterance in self.utterances)


@dataclass(frozen=True)
class Manifest(UtteranceSequence):
    """The usable utterances of a manifest file and the problems of the lines skipped."""

    path: Path
    utterances: tuple[Utterance, ...]
    problems: tuple[ManifestError, ...] = ()


def read_manifest(path: str | PathLike, *, strict: bool = False, check_audio: bool = True) -> Manifest:
    """Read a JSON-lines manifest.

    Parameters
    ----------
    path : str or PathLike
        The manifest. Relative ``audio_filepath`` values are taken from the
        manifest's folder.
    strict : bool
        If True, the first bad line raises :class:`ManifestError`. If False,
        bad lines are skipped with a logged warning and kept in
        ``Manifest.problems``.
    check_audio : bool
        Whether a line whose audio file does not exist is bad.

    Returns
    -------
    Manifest
        Its utterances in file order, texts normalised.

    Raises
    ------
    ManifestError
        If the manifest cannot be read, or (with ``strict``) for the first bad
        line; the message gives file and line number.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").split("\n")  # not splitlines(): JSON strings may hold U+2028
    except (OSError, UnicodeDecodeError) as error:
        raise ManifestError(path, None, f"cannot read manifest ({error})") from error
    utterances, problems = [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            utterances.append(_parse_line(line, path, number, check_audio))
        except ManifestError as problem:
            if strict:
                raise
            logger.warning("%s; line skipped", problem)
            problems.append(problem)
    if problems:
        logger.warning("%s: skipped %d bad line(s) of %d", path, len(problems), len(problems) + len(utterances))
    return Manifest(path=path, utterances=tuple(utterances), problems=tuple(problems))


def write_manifest(utterances: Iterable[Utterance], path: str | PathLike) -> None:
    """Write utterances as a JSON-lines manifest, atomically.

    Audio paths inside the manifest's folder are written relative to it, others
    absolute. The file appears whole or not at all.
    """
    path = Path(path)
    folder = path.parent.resolve()
    lines = [json.dumps(_line_of(utterance, folder), ensure_ascii=False) for utterance in utterances]
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(path, "".join(line + "\n" for line in lines))


def _parse_line(line: str, path: Path, number: int, check_audio: bool) -> Utterance:
    """Turn one JSON line into an Utterance or raise ManifestError saying why not."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise ManifestError(path, number, f"broken JSON ({error.msg} at column {error.colno})") from None
    except (ValueError, RecursionError) as error:  # an integer of over 4300 digits, nesting too deep
        raise ManifestError(path, number, f"unreadable JSON ({error})") from None
    if not isinstance(record, dict):
        raise ManifestError(path, number, f"expected a JSON object, got {type(record).__name__}")
    missing = [key for key in REQUIRED_KEYS if key not in record]
    if missing:
        raise ManifestError(path, number, f"missing key(s) {', '.join(map(repr, missing))}")
    audio = _audio_path(record["audio_filepath"], path, number)
    if check_audio:
        _check_audio_file(audio, path, number)
    duration = _duration(record["duration"], path, number)
    text = _text(record["text"], path, number)
    extra = {key: value for key, value in record.items() if key not in REQUIRED_KEYS}
    return Utterance(audio_filepath=audio, duration=duration, text=text, extra=extra)


def _audio_path(value, path: Path, number: int) -> Path:
    """Resolve ``audio_filepath`` against the manifest's folder."""
    if not isinstance(value, str) or not value:
        raise ManifestError(path, number, f"audio_filepath must be a non-empty string, got {value!r}")
    try:
        return (path.parent / value).resolve()
    except (OSError, ValueError, RuntimeError) as error:  # a NUL byte, the system refusing it, a symlink loop
        raise ManifestError(path, number, f"audio_filepath is not a usable path ({error}): {value!r}") from None


def _check_audio_file(audio: Path, path: Path, number: int) -> None:
    """Raise ManifestError unless the audio file exists."""
    try:
        found = audio.is_file()
    except OSError as error:  # a name too long, a folder we may not look into
        raise ManifestError(path, number, f"audio file cannot be looked up ({error.strerror}): {audio}") from None
    if not found:
        raise ManifestError(path, number, f"audio file not found: {audio}")


def _duration(value, path: Path, number: int) -> float:
    """Check that a duration is a positive, finite number of seconds."""
    # NaN, infinity and integers too large for a float all fail the comparison.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= sys.float_info.max:
        raise ManifestError(path, number, f"duration must be a positive number of seconds, got {value!r}")
    return float(value)


def _text(value, path: Path, number: int) -> str:
    """Normalise a transcript; reject empty text and text the alphabet cannot spell."""
    if not isinstance(value, str):
        raise ManifestError(path, number, f"text must be a string, got {type(value).__name__}")
    try:
        text = normalize_text(value, strict=True)
    except TextError as error:
        raise ManifestError(path, number, str(error)) from None
    if not text:
        raise ManifestError(path, number, f"empty text after normalising {value!r}")
    return text


def _line_of(utterance: Utterance, folder: Path) -> dict:
    """The JSON object of one utterance, audio path relative to ``folder`` when inside it."""
    audio = Path(utterance.audio_filepath)
    try:
        audio = audio.resolve().relative_to(folder)
    except ValueError:
        audio = audio.resolve()
    return {"audio_filepath": audio.as_posix(), "duration": round(utterance.duration, 4), "text": utterance.text,
            **utterance.extra}
