"""Untranscribed audio to training data: a teacher (Whisper) labels it, clip by clip, into a manifest.

``asr label`` (:func:`label_audio`) reads audio files and folders, cuts files
longer than ``max_clip_seconds`` at their quietest moments into clips of their
own (written as 16-bit WAV beside the manifest), and has the teacher
transcribe each clip. Every kept clip becomes one manifest line that
``asr train`` reads::

    {"audio_filepath": "...", "duration": 4.2, "text": "normalised words", "label": "whisper",
     "teacher": "whisper:tiny.en", "confidence": -0.21, "source": "/abs/talk.mp3", "offset": 40.0,
     "second_teacher": "whisper:base.en", "agree": true}

``confidence`` is the teacher's mean token log-probability; with a second
teacher, ``agree`` says whether both wrote the same normalised words. Clips
with no words, below ``min_confidence``, or (with ``agreed_only``) where the
teachers differ are left out and counted.

A run can stop anywhere: after each source file, the manifest and a progress
file beside it (``NAME.progress.jsonl``: each finished source with its clip
counts) are rewritten whole, so a rerun labels only the files not yet done.
A file that cannot be read is reported and skipped; the rest go on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import numpy as np
import soundfile

from asr.audio import load_audio
from asr.constants import SAMPLE_RATE
from asr.errors import AsrError
from asr.files import write_text_atomically
from asr.manifest import Utterance, read_manifest, write_manifest
from asr.output import find_audio
from asr.segmentation import MAX_CHUNK_SECONDS, MIN_CHUNK_SECONDS, split_at_pauses
from asr.teacher import Whisper, parse_teacher

logger = logging.getLogger(__name__)

LABEL = "whisper"  # the manifest's "label" field: where the text came from
PROGRESS_SUFFIX = ".progress.jsonl"
CLIPS_SUFFIX = "_clips"  # folder beside the manifest that holds the clips cut from long files


@dataclass(frozen=True)
class LabelConfig:
    """How ``asr label`` labels audio.

    Attributes
    ----------
    teacher : str
        ``whisper`` (tiny.en) or ``whisper:MODEL``.
    second_teacher : str or None
        A second teacher; each line then says whether the two agree.
    min_confidence : float or None
        Leave out clips whose mean token log-probability is lower.
    agreed_only : bool
        Leave out clips the teachers disagree on (needs ``second_teacher``).
    max_clip_seconds : float
        Longer files are cut at pauses into clips at most this long.
    """

    teacher: str = "whisper"
    second_teacher: str | None = None
    min_confidence: float | None = None
    agreed_only: bool = False
    max_clip_seconds: float = MAX_CHUNK_SECONDS

    def __post_init__(self):
        for spec in filter(None, (self.teacher, self.second_teacher)):
            parse_teacher(spec)
        if self.agreed_only and self.second_teacher is None:
            raise ValueError("agreed_only needs a second_teacher to agree with")
        if self.min_confidence is not None and self.min_confidence > 0:
            raise ValueError(f"min_confidence is a mean log-probability (<= 0), got {self.min_confidence}")
        if not self.max_clip_seconds > 1.0:
            raise ValueError(f"max_clip_seconds must be over 1 s, got {self.max_clip_seconds}")


@dataclass
class LabelReport:
    """What a run did: counts of clips and the files that failed."""

    files_done: int = 0  # labelled in this run
    files_skipped: int = 0  # already done by an earlier run
    clips_kept: int = 0
    clips_empty: int = 0  # the teacher heard no words
    clips_unsure: int = 0  # below min_confidence
    clips_disagreed: int = 0  # left out by agreed_only
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every file could be read."""
        return not self.errors


def label_audio(paths: Sequence[str | PathLike], output: str | PathLike, *, config: LabelConfig = LabelConfig(),
                teachers: Sequence | None = None, progress: Callable = iter) -> LabelReport:
    """Label audio files and folders with the teacher into the manifest ``output``.

    Parameters
    ----------
    paths : sequence of path
        Audio files and folders (searched for audio files).
    output : path
        The JSON-lines manifest to write (added to when it exists).
    config : LabelConfig
    teachers : sequence, optional
        Ready teachers (objects with ``name`` and ``label(samples)``): the
        first, and the second when ``config.second_teacher`` is set. By
        default they are loaded from the config.
    progress : callable
        Wraps the list of files to label (a progress bar).

    Returns
    -------
    LabelReport
    """
    output = Path(output)
    inputs, problems = find_audio(paths)
    report = LabelReport(errors=list(problems))
    done = _finished_sources(output)
    utterances = list(read_manifest(output, check_audio=False)) if output.is_file() else []
    todo = [audio for audio in inputs if str(audio.path.resolve()) not in done]
    report.files_skipped = len(inputs) - len(todo)
    if not todo:
        return report
    teachers = list(teachers) if teachers is not None else _load_teachers(config)
    for audio in progress(todo):
        source = str(audio.path.resolve())
        try:
            samples = load_audio(audio.path)
        except AsrError as error:
            report.errors.append(str(error))
            logger.error("%s", error)
            continue
        kept, counts = _label_file(samples, source, audio.relative, output, config, teachers)
        utterances = [u for u in utterances if u.extra.get("source") != source] + kept
        done[source] = {"source": source, "kept": len(kept), **counts}
        write_manifest(utterances, output)
        write_text_atomically(_progress_path(output), "".join(json.dumps(row) + "\n" for row in done.values()))
        report.files_done += 1
        report.clips_kept += len(kept)
        report.clips_empty += counts["empty"]
        report.clips_unsure += counts["unsure"]
        report.clips_disagreed += counts["disagreed"]
    return report


def _label_file(samples: np.ndarray, source: str, relative, output: Path, config: LabelConfig,
                teachers: list) -> tuple[list[Utterance], dict]:
    """The kept clips of one file as utterances, and how many were left out for each reason."""
    counts = {"empty": 0, "unsure": 0, "disagreed": 0}
    whole = samples.size <= config.max_clip_seconds * SAMPLE_RATE
    shortest = config.max_clip_seconds * MIN_CHUNK_SECONDS / MAX_CHUNK_SECONDS  # cuts looked for past this point
    spans = [(0, samples.size)] if whole else split_at_pauses(samples, max_seconds=config.max_clip_seconds,
                                                                 min_seconds=shortest)
    kept = []
    for start, end in spans:
        clip = samples[start:end]
        labels = [teacher.label(clip) for teacher in teachers]
        reason = _left_out_because(labels, config)
        if reason:
            counts[reason] += 1
            continue
        audio_path = Path(source) if whole else _write_clip(clip, output, relative, start)
        extra = {"label": LABEL, "teacher": teachers[0].name, "confidence": round(labels[0].confidence, 4),
                 "source": source, "offset": round(start / SAMPLE_RATE, 3)}
        if len(labels) > 1:
            extra.update(second_teacher=teachers[1].name, agree=labels[0].text == labels[1].text)
        kept.append(Utterance(audio_filepath=audio_path, duration=clip.size / SAMPLE_RATE, text=labels[0].text,
                              extra=extra))
    return kept, counts


def _left_out_because(labels: list, config: LabelConfig) -> str | None:
    """Why a clip is left out ("empty", "unsure", "disagreed"), or None to keep it."""
    if not labels[0].text:
        return "empty"
    if config.min_confidence is not None and labels[0].confidence < config.min_confidence:
        return "unsure"
    if config.agreed_only and labels[0].text != labels[1].text:
        return "disagreed"
    return None


def _write_clip(clip: np.ndarray, output: Path, relative, start: int) -> Path:
    """Write a clip cut from a long file as 16-bit WAV under the manifest's clips folder."""
    folder = output.parent / (output.stem + CLIPS_SUFFIX) / Path(relative).parent
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{Path(relative).stem}_{int(round(start / SAMPLE_RATE * 1000)):09d}ms.wav"
    soundfile.write(path, clip, SAMPLE_RATE, subtype="PCM_16")
    return path


def _load_teachers(config: LabelConfig) -> list:
    """The teacher (and second teacher) of the config."""
    return [Whisper(parse_teacher(spec)) for spec in filter(None, (config.teacher, config.second_teacher))]


def _progress_path(output: Path) -> Path:
    return output.with_name(output.name + PROGRESS_SUFFIX)


def _finished_sources(output: Path) -> dict[str, dict]:
    """The sources an earlier run finished, from the progress file (empty when there is none)."""
    path = _progress_path(output)
    if not path.is_file() or not output.is_file():
        return {}
    rows = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
            rows[row["source"]] = row
        except (json.JSONDecodeError, KeyError, TypeError):
            logger.warning("%s: unreadable progress line skipped (that file is labelled again)", path)
    return rows
