"""Other recognizers as baselines, scored on the same audio, normaliser and scorer as ours.

* ``pocketsphinx``: CMU PocketSphinx (``pip install pocketsphinx``, the
  optional extra ``baseline``), the classic offline recognizer, with its
  bundled en-us acoustic model, language model and dictionary at their
  default settings, as in ``../shared/corpus/baseline_pocketsphinx.json``;
* ``whisper`` or ``whisper:MODEL``: Whisper through faster-whisper
  (:class:`asr.teacher.Whisper`, the optional extra ``teacher``).
"""

from __future__ import annotations

import io
import logging
import os
import re
import time
from os import PathLike

import numpy as np

from asr.audio import load_audio
from asr.constants import SAMPLE_RATE
from asr.errors import AsrError, AudioError
from asr.evaluation import Evaluation, UtteranceResult, check_usable, score
from asr.manifest import read_manifest

logger = logging.getLogger(__name__)

NAME = "pocketsphinx"  # how the baseline appears in tables, as model and as decoder
BASELINES = (NAME, "whisper")  # a whisper baseline may name its model: whisper:base.en
MAX_UTTERANCE_SECONDS = 20.0  # s: longer audio is cut at pauses by PocketSphinx's own voice activity detector
FILLER = re.compile(r"^(<.*>|\[.*\])$")  # <s>, </s>, <sil>, [NOISE]: not words
ALTERNATIVE = re.compile(r"\(\d+\)$")  # "read(2)": the second pronunciation of "read"


class BaselineError(AsrError):
    """The baseline recognizer is not installed or cannot start."""


class PocketSphinx:
    """CMU PocketSphinx with its bundled US English models, one utterance at a time.

    Examples
    --------
    >>> PocketSphinx().transcribe(load_audio("speech.wav"))  # doctest: +SKIP
    'hello world'
    """

    def __init__(self):
        try:
            import pocketsphinx
        except ImportError as error:
            raise BaselineError("PocketSphinx is not installed; pip install 'asr[baseline]' "
                                "(or pip install pocketsphinx)") from error
        self._decoder = pocketsphinx.Decoder(samprate=SAMPLE_RATE, logfn=os.devnull)

    def transcribe(self, samples: np.ndarray) -> str:
        """The words PocketSphinx hears in 16 kHz mono samples, fillers dropped.

        Audio longer than ``MAX_UTTERANCE_SECONDS`` is cut into speech segments
        by PocketSphinx's voice activity detector (``Segmenter``) first, as its
        own ``live`` mode does, so an hour of audio is decoded in pieces.

        Parameters
        ----------
        samples : np.ndarray [shape=(n,), float32]
            Audio in [-1, 1] at 16 kHz, as :func:`asr.load_audio` returns it.
        """
        pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()
        if samples.size <= MAX_UTTERANCE_SECONDS * SAMPLE_RATE:
            return self._recognise(pcm)
        from pocketsphinx.segmenter import Segmenter

        segments = Segmenter(sample_rate=SAMPLE_RATE).segment(io.BytesIO(pcm))
        return " ".join(filter(None, (self._recognise(segment.pcm) for segment in segments)))

    def _recognise(self, pcm: bytes) -> str:
        """Decode 16-bit PCM as one utterance."""
        self._decoder.start_utt()
        self._decoder.process_raw(pcm, full_utt=True)
        self._decoder.end_utt()
        words = [ALTERNATIVE.sub("", segment.word) for segment in self._decoder.seg()]
        return " ".join(word.lower() for word in words if word and not FILLER.match(word))


def baseline_name(spec: str) -> str:
    """A baseline's name in tables: ``pocketsphinx``, or ``whisper:MODEL`` (``whisper`` names tiny.en).

    Raises
    ------
    ValueError
        For a spec that names no baseline.
    """
    if spec == NAME:
        return NAME
    from asr.teacher import NAME as WHISPER, parse_teacher

    try:
        return f"{WHISPER}:{parse_teacher(spec)}"
    except ValueError:
        raise ValueError(f"a baseline is one of {BASELINES} (whisper:MODEL names a Whisper model), "
                         f"got {spec!r}") from None


def load_baseline(spec: str):
    """The recognizer a baseline spec names: an object with ``transcribe(samples) -> str``.

    Raises
    ------
    ValueError
        For a spec that names no baseline.
    BaselineError, asr.teacher.TeacherError
        If the recognizer is not installed.
    """
    if baseline_name(spec) == NAME:
        return PocketSphinx()
    from asr.teacher import Whisper, parse_teacher

    return Whisper(parse_teacher(spec))


def evaluate_recognizer(manifest: str | PathLike, recognizer, *,
                        name: str) -> tuple[Evaluation, list[UtteranceResult]]:
    """Transcribe a manifest with a baseline recognizer and score it like :func:`asr.evaluation.evaluate_manifest`.

    The real-time factor covers the same path as ours: reading each file,
    resampling, recognising. An unreadable file is logged, scored as an empty
    hypothesis and counted in ``failed``.

    Parameters
    ----------
    manifest : path
    recognizer
        Anything with ``transcribe(samples) -> str`` (16 kHz mono float32 in, words out).
    name : str
        Model and decoder name of the rows.
    """
    contents = read_manifest(manifest)
    utterances = list(contents)
    check_usable(contents)
    started = time.perf_counter()
    hypotheses, errors = [], []
    for utterance in utterances:
        try:
            samples = load_audio(utterance.audio_filepath, sr=SAMPLE_RATE)
        except AudioError as error:
            logger.error("%s", error)
            errors.append(str(error))
            hypotheses.append("")
            continue
        hypotheses.append(recognizer.transcribe(samples))
    elapsed = time.perf_counter() - started
    return score(utterances, hypotheses, errors, manifest=manifest, model=name, decoder=name, seconds=elapsed,
                 skipped=len(contents.problems))
