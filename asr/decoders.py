"""Decoders: per-frame log-probabilities to hypotheses with word timings and confidences.

Every decoder takes the acoustic model's output for one utterance,
log-probabilities of shape ``(frames, num_classes)``, or a padded batch
``(batch, frames, num_classes)`` with lengths, and returns :class:`Hypothesis`
objects. Four kinds, made by :func:`build_decoder`:

``greedy``
    The best class in each frame, repeats merged, blanks dropped.
``beam``
    CTC prefix beam search without a language model (pyctcdecode's search,
    run by :mod:`asr.prefix_search` so that it can also take frames as they
    come). With ``beam_width=1`` it gives exactly the greedy transcript
    (barring exact ties).
``lm``
    The same search with a KenLM n-gram model fused in:
    ``score = acoustic + alpha * ln P_lm + beta * words (+ hotword bonus)``,
    where words outside the model's unigrams pay an unknown-word penalty.
``beam_tf``
    TensorFlow's ``tf.nn.ctc_beam_search_decoder``, kept for comparison
    (``benchmarks/decoders.py``). It sums over paths from the first frame, so
    with ``beam_width=1`` it is *not* the greedy transcript.

Every decoder also decodes an utterance whose frames arrive in chunks
(:meth:`Decoder.stream`, for live audio): partial text after each chunk, and
at the end what :meth:`Decoder.decode_nbest` gives for all the frames.

Word timings come from output frames: a word runs from the first frame of its
first character to the end of the last frame of its last character, times
``frame_seconds`` (the model's output frame duration, e.g. 0.02 s for a
stride-2 model on 10 ms features). Word confidences are defined in
:func:`asr.alignment.word_confidence`.
"""

from __future__ import annotations

import abc
import json
import math
import numbers
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from os import PathLike
from pathlib import Path
from typing import NamedTuple

import numpy as np

from asr.alignment import best_path, path_confidence, path_words, word_confidence
from asr.alphabet import Alphabet
from asr.files import write_text_atomically
from asr.prefix_search import PrefixSearch
from asr.text import normalize_text

DECODER_KINDS = ("greedy", "beam", "lm", "beam_tf")
DEFAULT_BEAM_WIDTH = 64  # prefixes kept per frame by a model not yet tuned (pyctcdecode's default is 100)
DEFAULT_ALPHA = 0.5  # weight of ln P_lm in the score (pyctcdecode's default; to be tuned on dev data)
DEFAULT_BETA = 1.0  # score bonus per word, natural log, until tuned (pyctcdecode's default is 1.5)
DEFAULT_HOTWORD_WEIGHT = 10.0  # bonus per hotword, natural-log units (pyctcdecode's default)
DEFAULT_BEAM_PRUNE_LOGP = -10.0  # drop prefixes this far below the best (pyctcdecode's default)
DEFAULT_TOKEN_MIN_LOGP = -5.0  # skip classes below this log-probability in a frame unless best (pyctcdecode's)
LOG_PROB_FLOOR = math.log(1e-15)  # log-probabilities are clipped here (pyctcdecode's floor) to stay finite


@dataclass(frozen=True)
class Word:
    """One recognised word.

    Attributes
    ----------
    word : str
        The word, in normalised spelling.
    start, end : float
        Seconds from the start of the audio: the start of its first
        character's first frame and the end of its last character's last
        frame. ``0 <= start < end <= frames * frame_seconds``.
    confidence : float
        In [0, 1]; see :func:`asr.alignment.word_confidence`.
    """

    word: str
    start: float
    end: float
    confidence: float


@dataclass(frozen=True)
class Hypothesis:
    """A transcript with its score and words.

    Attributes
    ----------
    text : str
        Normalised text: words separated by single spaces; empty for silence.
    score : float
        The decoder's ranking score, natural log: the best path's
        log-probability (greedy), the prefix log-probability (beam, beam_tf),
        or that plus ``alpha * ln P_lm + beta * words`` and any hotword bonus (lm).
    words : tuple of Word
        The words of ``text`` in order, with timings and confidences.
    """

    text: str
    score: float
    words: tuple[Word, ...] = ()


@dataclass(frozen=True)
class DecoderConfig:
    """Which decoder, and its options; a model folder keeps its own in ``decoding.json``.

    Saved as JSON (:meth:`save`), the paths of the language model and its
    unigrams are written relative to the file's folder when they lie inside
    it, and read back (:meth:`load`) relative to it, so a model folder can be
    moved. In a model folder, ``kind`` is the decoder used when none is asked
    for, and the other kinds take their options from the same config
    (:meth:`for_kind`).

    Examples
    --------
    >>> DecoderConfig(kind="beam", beam_width=16).kind
    'beam'
    >>> DecoderConfig(kind="lm", lm_path="lm/lm.bin").for_kind("beam").lm_path is None
    True
    """

    kind: str = "greedy"  # one of DECODER_KINDS
    beam_width: int = DEFAULT_BEAM_WIDTH  # prefixes kept per frame (beam, lm, beam_tf)
    lm_path: str | None = None  # KenLM model file or `asr lm build` folder (lm only)
    unigrams: str | None = None  # the LM's words, one a line (lm only); default: unigrams.txt beside the model
    alpha: float = DEFAULT_ALPHA  # LM weight (lm only)
    beta: float = DEFAULT_BETA  # per-word bonus (lm only)
    hotword_weight: float = DEFAULT_HOTWORD_WEIGHT  # bonus per hotword occurrence (beam, lm)
    beam_prune_logp: float = DEFAULT_BEAM_PRUNE_LOGP  # prune prefixes this far below the best (beam, lm)
    token_min_logp: float = DEFAULT_TOKEN_MIN_LOGP  # classes below this are not expanded (beam, lm)
    tuned_on: tuple[str, ...] = ()  # dev manifests alpha and beta were tuned on (`asr lm tune`)

    def __post_init__(self):
        _check_config(self)
        for name in _PATHS:
            if getattr(self, name) is not None:
                object.__setattr__(self, name, os.fspath(getattr(self, name)))
        object.__setattr__(self, "tuned_on", tuple(self.tuned_on))

    def for_kind(self, kind: str, **changes) -> DecoderConfig:
        """The same options for a decoder of another kind: the language model kept for ``lm`` only.

        ``changes`` replace fields as in :func:`dataclasses.replace`.
        """
        without_lm = {} if kind == "lm" else {"lm_path": None, "unigrams": None}
        return replace(self, kind=kind, **{**without_lm, **changes})

    def to_dict(self, *, folder: str | PathLike | None = None) -> dict:
        """Plain values for JSON; paths inside ``folder`` written relative to it, others absolute."""
        values = asdict(self)
        values["tuned_on"] = list(self.tuned_on)
        if folder is not None:
            for name in _PATHS:
                values[name] = None if values[name] is None else _path_for(values[name], folder)
        return values

    @classmethod
    def from_dict(cls, values: Mapping, *, folder: str | PathLike | None = None) -> DecoderConfig:
        """A config from :meth:`to_dict`'s values; relative paths taken as relative to ``folder``.

        The older ``decoding.json`` form is read too: ``lm`` for ``lm_path``, and
        no ``kind``, which means ``lm`` when a language model is named, else ``beam``.
        An empty mapping is therefore what a model folder without ``decoding.json`` decodes with.

        Raises
        ------
        TypeError
            On a setting that is not a field.
        ValueError
            On a value that is not allowed (see the field comments).
        """
        values = dict(values)
        if "lm" in values:
            if "lm_path" in values:
                raise ValueError("give the language model as lm_path or lm (the older name), not both")
            values["lm_path"] = values.pop("lm")
        values.setdefault("kind", "lm" if values.get("lm_path") is not None else "beam")
        if folder is not None:
            for name in _PATHS:
                if isinstance(values.get(name), str):
                    values[name] = os.fspath(Path(folder) / values[name])
        return cls(**values)

    def save(self, path: str | PathLike) -> None:
        """Write the config as JSON, atomically; paths inside the file's folder written relative to it."""
        text = json.dumps(self.to_dict(folder=Path(path).parent), indent=2) + "\n"
        write_text_atomically(path, text)

    @classmethod
    def load(cls, path: str | PathLike) -> DecoderConfig:
        """Read a config written by :meth:`save` (or an older ``decoding.json``)."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")), folder=Path(path).parent)


_PATHS = ("lm_path", "unigrams")  # DecoderConfig's file fields, relative to the folder of a saved config
_NUMBERS = ("alpha", "beta", "hotword_weight", "beam_prune_logp", "token_min_logp")  # its real-valued fields


def _check_config(config: DecoderConfig) -> None:
    """Each field of a DecoderConfig must hold a value it allows; ValueError says which and what came."""
    if config.kind not in DECODER_KINDS:
        raise ValueError(f"decoder kind must be one of {DECODER_KINDS}, got {config.kind!r}")
    if not isinstance(config.beam_width, int) or isinstance(config.beam_width, bool) or config.beam_width < 1:
        raise ValueError(f"beam_width must be at least 1 (a whole number), got {config.beam_width!r}")
    if (config.kind == "lm") != (config.lm_path is not None):
        raise ValueError(f"lm_path is needed by kind 'lm' and only by it; got kind {config.kind!r} "
                         f"with lm_path={config.lm_path!r}")
    if config.unigrams is not None and config.lm_path is None:
        raise ValueError(f"unigrams belong to a language model; got unigrams={config.unigrams!r} without lm_path")
    for name in _NUMBERS:
        value = getattr(config, name)
        if not isinstance(value, numbers.Real) or isinstance(value, bool):
            raise ValueError(f"{name} must be a number, got {value!r}")
    if not isinstance(config.tuned_on, (list, tuple)) or not all(isinstance(m, str) for m in config.tuned_on):
        raise ValueError(f"tuned_on must be a list of manifest paths, got {config.tuned_on!r}")


def _path_for(path: str, folder: str | PathLike) -> str:
    """``path`` relative to ``folder`` when inside it (with ``/``), else absolute."""
    path, folder = Path(os.path.abspath(path)), Path(os.path.abspath(folder))
    return path.relative_to(folder).as_posix() if path.is_relative_to(folder) else str(path)


class _Beam(NamedTuple):
    """A raw search result before timings: text, score, word frame spans, and the path if known."""

    text: str
    score: float
    spans: list[tuple[str, int, int]]  # (word, first frame, one past last frame) of each word of text
    path: np.ndarray | None = None  # one class per frame, when the search followed a single path


class Decoder(abc.ABC):
    """Base of all decoders: checks input, handles empty input, adds timings and confidences.

    Use :func:`build_decoder` to make one.
    """

    supports_hotwords = False

    def __init__(self, config: DecoderConfig, alphabet: Alphabet):
        self.config = config
        self.alphabet = alphabet
        self._ids = {label: i for i, label in enumerate(alphabet.labels) if i != alphabet.blank_index}

    def decode(self, log_probs: np.ndarray, *, frame_seconds: float,
               hotwords: Sequence[str] | None = None) -> Hypothesis:
        """The best hypothesis for one utterance.

        Parameters
        ----------
        log_probs : np.ndarray [shape=(frames, num_classes)]
            Per-frame log-probabilities (log-softmax output); logits are
            accepted too (they are normalised). ``frames`` may be 0.
        frame_seconds : float
            Duration of one output frame in seconds.
        hotwords : sequence of str, optional
            Words or phrases to favour (beam and lm decoders only).

        Returns
        -------
        Hypothesis
            Empty text for 0 frames.

        Examples
        --------
        >>> decoder = build_decoder("greedy")
        >>> log_probs = np.log(np.full((3, 29), 0.01))
        >>> log_probs[1, 1] = 0.0  # frame 1 says "a"
        >>> decoder.decode(log_probs, frame_seconds=0.02).text
        'a'
        """
        return self.decode_nbest(log_probs, frame_seconds=frame_seconds, n=1, hotwords=hotwords)[0]

    def decode_nbest(self, log_probs: np.ndarray, *, frame_seconds: float, n: int = 10,
                     hotwords: Sequence[str] | None = None) -> list[Hypothesis]:
        """Up to ``n`` hypotheses for one utterance, best first (greedy gives one).

        Parameters are those of :meth:`decode`, plus ``n``, the most
        hypotheses to return (at least 1; beam decoders give at most
        ``beam_width``).
        """
        log_probs = check_log_probs(log_probs, num_classes=self.alphabet.num_classes)
        _check_frame_seconds(frame_seconds)
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        hotwords = self._check_hotwords(hotwords)
        if len(log_probs) == 0:
            return [Hypothesis(text="", score=0.0)]
        beams = self._search(log_probs, n=n, hotwords=hotwords)
        return [self._hypothesis(log_probs, beam, frame_seconds) for beam in beams[:n]]

    def decode_batch(self, log_probs: np.ndarray, *, lengths: Sequence[int] | None = None, frame_seconds: float,
                     hotwords: Sequence[str] | None = None) -> list[Hypothesis]:
        """The best hypothesis for each utterance of a padded batch.

        Parameters
        ----------
        log_probs : np.ndarray [shape=(batch, frames, num_classes)]
            Padded per-frame log-probabilities.
        lengths : sequence of int [shape=(batch,)], optional
            True output frames of each utterance, each in ``[0, frames]``;
            all ``frames`` when omitted.
        frame_seconds, hotwords
            As for :meth:`decode`; the hotwords apply to every utterance.

        Returns
        -------
        list of Hypothesis
            One per utterance, in batch order.
        """
        log_probs, lengths = check_batch(log_probs, lengths, num_classes=self.alphabet.num_classes)
        return [self.decode(rows[:length], frame_seconds=frame_seconds, hotwords=hotwords)
                for rows, length in zip(log_probs, lengths)]

    @abc.abstractmethod
    def _search(self, log_probs: np.ndarray, *, n: int, hotwords: list[str]) -> list[_Beam]:
        """Up to ``n`` raw results, best first, for checked non-empty log-probabilities."""

    def stream(self, *, frame_seconds: float, hotwords: Sequence[str] | None = None) -> UtteranceStream:
        """Decode one utterance as its frames arrive: :meth:`UtteranceStream.push` them, then ``finish``.

        Parameters are those of :meth:`decode`. The ``beam`` and ``lm``
        decoders carry their beams from chunk to chunk; the others keep the
        frames and search them at the end. Either way ``finish`` returns what
        :meth:`decode_nbest` returns for all the frames at once.

        Examples
        --------
        >>> stream = build_decoder("greedy").stream(frame_seconds=0.02)
        >>> log_probs = np.log(np.full((3, 29), 0.01))
        >>> log_probs[1, 1] = 0.0  # frame 1 says "a"
        >>> stream.push(log_probs[:2])
        >>> stream.partial
        'a'
        >>> stream.push(log_probs[2:])
        >>> stream.finish()[0].text
        'a'
        """
        _check_frame_seconds(frame_seconds)
        return UtteranceStream(self, frame_seconds=frame_seconds, hotwords=self._check_hotwords(hotwords))

    def _start_search(self, hotwords: list[str]) -> PrefixSearch | None:
        """A search that takes frames as they come, where the decoder has one."""
        return None

    def _check_hotwords(self, hotwords: Sequence[str] | None) -> list[str]:
        """Normalised hotwords; refuse them where the decoder cannot use them."""
        if hotwords is None:
            return []
        if isinstance(hotwords, str):
            raise TypeError(f"expected hotwords as a list of words or phrases, got the str {hotwords!r}; "
                            f"wrap it in a list")
        words = [normalize_text(phrase) for phrase in hotwords]
        words = [phrase for phrase in words if phrase]
        if words and not self.supports_hotwords:
            raise ValueError(f"the {self.config.kind!r} decoder cannot use hotwords; use 'beam' or 'lm'")
        return words

    def _hypothesis(self, log_probs: np.ndarray, beam: _Beam, frame_seconds: float) -> Hypothesis:
        """Attach word timings and confidences to a raw result (re-aligned if its spans do not fit)."""
        spans = beam.spans
        path = beam.path
        if not _spans_fit(spans, beam.text, len(log_probs)):
            path = best_path(log_probs, self._encode(beam.text), blank_index=self.alphabet.blank_index)
            spans = path_words(path, alphabet=self.alphabet)
        words = tuple(Word(word=word, start=start * frame_seconds, end=end * frame_seconds,
                           confidence=self._confidence(log_probs, word, start, end, path))
                      for word, start, end in spans)
        return Hypothesis(text=beam.text, score=float(beam.score), words=words)

    def _confidence(self, log_probs: np.ndarray, word: str, start: int, end: int, path: np.ndarray | None) -> float:
        """A word's confidence from the path when known, else from its own best alignment (the same value)."""
        if path is not None:
            return path_confidence(log_probs[start:end], path[start:end])
        return word_confidence(log_probs[start:end], self._encode(word), blank_index=self.alphabet.blank_index)

    def _encode(self, text: str) -> list[int]:
        """Class ids of already normalised text."""
        return [self._ids[char] for char in text]


class UtteranceStream:
    """One utterance decoded as its frames arrive; make one with :meth:`Decoder.stream`.

    Attributes
    ----------
    frames : int
        Frames pushed so far.
    """

    def __init__(self, decoder: Decoder, *, frame_seconds: float, hotwords: list[str]):
        self._decoder = decoder
        self._frame_seconds = frame_seconds
        self._hotwords = hotwords
        self._search = decoder._start_search(hotwords)
        self._chunks: list[np.ndarray] = []  # the checked log-probabilities pushed so far
        self._best: list[np.ndarray] = []  # each frame's best class, for the greedy partial of searches that wait
        self.frames = 0

    def push(self, log_probs: np.ndarray) -> None:
        """Take the next frames: log-probabilities (or logits) of shape ``(frames, num_classes)``, 0 frames allowed.

        Raises
        ------
        ValueError
            As :meth:`Decoder.decode` does.
        """
        log_probs = check_log_probs(log_probs, num_classes=self._decoder.alphabet.num_classes)
        self._chunks.append(log_probs)
        self.frames += len(log_probs)
        if self._search is not None:
            self._search.advance(log_probs)
        else:
            self._best.append(log_probs.argmax(axis=1))

    @property
    def log_probs(self) -> np.ndarray:
        """The checked log-probabilities pushed so far, shape ``(frames, num_classes)``."""
        if not self._chunks:
            return np.zeros((0, self._decoder.alphabet.num_classes))
        if len(self._chunks) > 1:
            self._chunks = [np.concatenate(self._chunks)]
        return self._chunks[0]

    @property
    def partial(self) -> str:
        """The best words so far: the search's best prefix, or the greedy reading; they may still change."""
        if self._search is not None:
            return self._search.best_text()
        best = np.concatenate(self._best) if self._best else np.zeros(0, dtype=np.int64)
        return " ".join(word for word, _, _ in path_words(best, alphabet=self._decoder.alphabet))

    def finish(self, *, n: int = 1) -> list[Hypothesis]:
        """Up to ``n`` hypotheses for every frame pushed, best first, as :meth:`Decoder.decode_nbest` gives."""
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        decoder = self._decoder
        log_probs = self.log_probs
        if len(log_probs) == 0:
            return [Hypothesis(text="", score=0.0)]
        if self._search is not None:
            beams = _prefix_beams(self._search, n)
        else:
            beams = decoder._search(log_probs, n=n, hotwords=self._hotwords)
        return [decoder._hypothesis(log_probs, beam, self._frame_seconds) for beam in beams[:n]]


class GreedyDecoder(Decoder):
    """Best class per frame, repeats merged, blanks dropped (kind ``greedy``)."""

    def _search(self, log_probs: np.ndarray, *, n: int, hotwords: list[str]) -> list[_Beam]:
        """The single best path."""
        path = log_probs.argmax(axis=1)
        spans = path_words(path, alphabet=self.alphabet)
        text = " ".join(word for word, _, _ in spans)
        score = float(log_probs[np.arange(len(path)), path].sum())
        return [_Beam(text=text, score=score, spans=spans, path=path)]


class PrefixBeamDecoder(Decoder):
    """CTC prefix beam search by pyctcdecode, with or without KenLM (kinds ``beam`` and ``lm``)."""

    supports_hotwords = True

    def __init__(self, config: DecoderConfig, alphabet: Alphabet, *, unigrams: Iterable[str] | None = None):
        super().__init__(config, alphabet)
        self._decoder = _build_pyctcdecode(config, alphabet, unigrams)

    def _search(self, log_probs: np.ndarray, *, n: int, hotwords: list[str]) -> list[_Beam]:
        """The prefix search over the whole utterance at once."""
        search = self._start_search(hotwords)
        search.advance(log_probs)
        return _prefix_beams(search, n)

    def _start_search(self, hotwords: list[str]) -> PrefixSearch:
        """A search to feed frames as they come."""
        config = self.config
        return PrefixSearch(self._decoder, beam_width=config.beam_width, beam_prune_logp=config.beam_prune_logp,
                            token_min_logp=config.token_min_logp, hotwords=hotwords,
                            hotword_weight=config.hotword_weight)


class TensorFlowBeamDecoder(Decoder):
    """TensorFlow's CTC beam search (kind ``beam_tf``); timings from the best alignment of its output."""

    def __init__(self, config: DecoderConfig, alphabet: Alphabet):
        super().__init__(config, alphabet)
        blank = alphabet.blank_index
        # TensorFlow wants the blank as the last class: move it there, and map back afterwards.
        self._order = np.array([i for i in range(alphabet.num_classes) if i != blank] + [blank])

    def _search(self, log_probs: np.ndarray, *, n: int, hotwords: list[str]) -> list[_Beam]:
        """TensorFlow's top paths, duplicates and impossible ones dropped."""
        import tensorflow as tf

        inputs = tf.constant(log_probs[:, self._order][:, None, :], dtype=tf.float32)  # (frames, 1, classes)
        top = min(n, self.config.beam_width)
        decoded, scores = tf.nn.ctc_beam_search_decoder(inputs, sequence_length=[len(log_probs)],
                                                        beam_width=self.config.beam_width, top_paths=top)
        beams, seen = [], set()
        for sparse, score in zip(decoded, scores.numpy()[0]):
            ids = self._order[sparse.values.numpy()]
            text = " ".join(self.alphabet.decode(ids).split())
            if np.isfinite(score) and text not in seen:
                seen.add(text)
                beams.append(self._aligned(log_probs, ids, text, float(score)))
        return beams

    def _aligned(self, log_probs: np.ndarray, ids: np.ndarray, text: str, score: float) -> _Beam:
        """A result with the spans of its best alignment (of the raw ids, spaces included)."""
        path = best_path(log_probs, ids.tolist(), blank_index=self.alphabet.blank_index)
        return _Beam(text=text, score=score, spans=path_words(path, alphabet=self.alphabet), path=path)


def _prefix_beams(search: PrefixSearch, n: int) -> list[_Beam]:
    """The best ``n`` results of a finished prefix search."""
    return [_Beam(text=text, score=score, spans=[(word, start, end) for word, (start, end) in frames])
            for text, frames, score in search.finish()[:n]]


def build_decoder(kind: str = "greedy", *, alphabet: Alphabet = Alphabet(), beam_width: int = DEFAULT_BEAM_WIDTH,
                  lm_path: str | PathLike | None = None, unigrams: Iterable[str] | str | PathLike | None = None,
                  alpha: float = DEFAULT_ALPHA, beta: float = DEFAULT_BETA,
                  hotword_weight: float = DEFAULT_HOTWORD_WEIGHT, beam_prune_logp: float = DEFAULT_BEAM_PRUNE_LOGP,
                  token_min_logp: float = DEFAULT_TOKEN_MIN_LOGP) -> Decoder:
    """Make a decoder; the entry point of this module.

    Parameters
    ----------
    kind : {"greedy", "beam", "lm", "beam_tf"}
        Which decoder (see the module docstring).
    alphabet : Alphabet
        The model's output classes.
    beam_width : int
        Prefixes kept per frame (beam decoders).
    lm_path : path, optional
        KenLM model (binary or ARPA) or a folder from ``asr lm build``;
        required by ``lm``, refused by the others.
    unigrams : iterable of str, or path, optional
        The LM's vocabulary, or a file of it one word a line; by default the
        ``unigrams.txt`` beside the model (``lm`` only).
    alpha, beta : float
        LM weight and per-word bonus (``lm``).
    hotword_weight : float
        Bonus per hotword occurrence (``beam``, ``lm``).
    beam_prune_logp, token_min_logp : float
        pyctcdecode's pruning thresholds (``beam``, ``lm``).

    Returns
    -------
    Decoder
        With ``decode``, ``decode_nbest`` and ``decode_batch``.

    Raises
    ------
    FileNotFoundError
        If ``lm_path`` does not exist.
    LanguageModelError
        If the model cannot be loaded.

    Examples
    --------
    >>> build_decoder("beam", beam_width=8).config.beam_width
    8
    """
    words_file = unigrams if isinstance(unigrams, (str, PathLike)) else None
    config = DecoderConfig(kind=kind, beam_width=beam_width, lm_path=lm_path, unigrams=words_file,
                           alpha=alpha, beta=beta, hotword_weight=hotword_weight,
                           beam_prune_logp=beam_prune_logp, token_min_logp=token_min_logp)
    return decoder_from_config(config, alphabet=alphabet, unigrams=None if words_file else unigrams)


def decoder_from_config(config: DecoderConfig, *, alphabet: Alphabet = Alphabet(),
                        unigrams: Iterable[str] | None = None) -> Decoder:
    """Make the decoder a :class:`DecoderConfig` describes (see :func:`build_decoder`).

    ``unigrams``, the LM's words in memory, take the place of ``config.unigrams``.
    """
    if config.kind == "greedy":
        return GreedyDecoder(config, alphabet)
    if config.kind == "beam_tf":
        return TensorFlowBeamDecoder(config, alphabet)
    return PrefixBeamDecoder(config, alphabet, unigrams=unigrams)


def greedy_decode(scores: np.ndarray, *, alphabet: Alphabet = Alphabet()) -> str:
    """Best class per frame, repeats merged, blanks dropped: the text only, fast.

    Parameters
    ----------
    scores : np.ndarray [shape=(frames, num_classes)]
        Per-frame scores (probabilities, log-probabilities or logits).
    alphabet : Alphabet

    Returns
    -------
    str
        The transcript, spaces folded; the text of :class:`GreedyDecoder`.
    """
    scores = np.asarray(scores)
    if scores.ndim != 2 or scores.shape[1] != alphabet.num_classes:
        raise ValueError(f"expected scores of shape (frames, {alphabet.num_classes}), got {scores.shape}")
    best = scores.argmax(axis=1)
    keep = np.ones(best.shape, dtype=bool)
    keep[1:] = best[1:] != best[:-1]
    return " ".join(alphabet.decode(best[keep]).split())


def check_log_probs(log_probs: np.ndarray, *, num_classes: int) -> np.ndarray:
    """Check one utterance's scores and return them as floored float64 log-probabilities.

    Parameters
    ----------
    log_probs : array-like [shape=(frames, num_classes)]
        Log-probabilities or logits; ``-inf`` allowed, NaN and ``+inf`` not.
    num_classes : int

    Returns
    -------
    np.ndarray [shape=(frames, num_classes), dtype=float64]
        Log-softmax of the input (log-probabilities pass unchanged), clipped
        below at :data:`LOG_PROB_FLOOR`.

    Raises
    ------
    ValueError
        On a wrong shape or dtype, NaN, ``+inf``, or a frame with every class ``-inf``.
    """
    array = np.asarray(log_probs)
    if array.ndim != 2 or array.shape[1] != num_classes:
        raise ValueError(f"expected log-probabilities of shape (frames, {num_classes}), got shape {array.shape}")
    return _normalise(array)


def check_batch(log_probs: np.ndarray, lengths: Sequence[int] | None, *,
                num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Check a padded batch and its lengths; return them as arrays (lengths default to all frames)."""
    array = np.asarray(log_probs)
    if array.ndim != 3 or array.shape[2] != num_classes:
        raise ValueError(f"expected log-probabilities of shape (batch, frames, {num_classes}), "
                         f"got shape {array.shape}")
    batch, frames = array.shape[:2]
    if lengths is None:
        return array, np.full(batch, frames, dtype=np.int64)
    lengths = np.asarray(lengths)
    if lengths.shape != (batch,) or lengths.dtype.kind not in "iu" or np.any(lengths < 0) or np.any(lengths > frames):
        raise ValueError(f"expected lengths of shape ({batch},) holding integers in [0, {frames}], "
                         f"got {lengths.dtype} of shape {lengths.shape}: {lengths.tolist()!r}")
    return array, lengths.astype(np.int64)


def _normalise(array: np.ndarray) -> np.ndarray:
    """Log-softmax over classes, floored; errors for non-real, NaN, +inf or all -inf frames."""
    if array.dtype.kind not in "fiu":
        raise ValueError(f"expected real-valued log-probabilities, got dtype {array.dtype}")
    array = array.astype(np.float64)
    bad = np.isnan(array) | (array == np.inf)
    if bad.any():
        frame, cls = np.argwhere(bad)[0]
        raise ValueError(f"expected finite log-probabilities (or -inf), got {array[frame, cls]} "
                         f"at frame {frame}, class {cls}")
    peak = array.max(axis=1, keepdims=True) if array.size else np.zeros((len(array), 1))
    if np.any(peak == -np.inf):
        frame = int(np.flatnonzero(peak[:, 0] == -np.inf)[0])
        raise ValueError(f"frame {frame} gives every class probability 0 (all -inf)")
    shifted = array - peak
    normalised = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return np.maximum(normalised, LOG_PROB_FLOOR)


def _check_frame_seconds(frame_seconds: float) -> None:
    """Frame duration must be a positive finite number of seconds."""
    if isinstance(frame_seconds, numbers.Real) and math.isfinite(frame_seconds) and frame_seconds > 0:
        return
    raise ValueError(f"expected frame_seconds as a positive number of seconds, got {frame_seconds!r}")


def _spans_fit(spans: list[tuple[str, int, int]], text: str, frames: int) -> bool:
    """Whether word spans match the text's words and lie in order inside the frames."""
    if [word for word, _, _ in spans] != text.split():
        return False
    edges = [edge for _, start, end in spans for edge in (start, end)]
    return all(0 <= a <= b for a, b in zip([0] + edges, edges + [frames])) and all(s < e for _, s, e in spans)


def _build_pyctcdecode(config: DecoderConfig, alphabet: Alphabet, unigrams: Iterable[str] | None):
    """pyctcdecode's decoder for our labels, with the KenLM model when ``config`` names one."""
    try:
        from pyctcdecode import build_ctcdecoder
    except ImportError as error:
        raise ImportError("the 'beam' and 'lm' decoders need pyctcdecode (and kenlm for 'lm'): "
                          "pip install -e '.[lm]'") from error
    if config.lm_path is None:
        return build_ctcdecoder(alphabet.labels)
    return _build_lm_decoder(build_ctcdecoder, config, alphabet, unigrams)


def _build_lm_decoder(build_ctcdecoder, config: DecoderConfig, alphabet: Alphabet, unigrams: Iterable[str] | None):
    """pyctcdecode with KenLM: the model file, its unigrams (given, named, or beside it), alpha and beta."""
    from asr.errors import LanguageModelError
    from asr.lm import load_unigrams, resolve_model

    model, unigrams_file = resolve_model(config.lm_path)
    if unigrams is None:
        words_file = config.unigrams or unigrams_file
        unigrams = None if words_file is None else load_unigrams(words_file)
    try:
        if unigrams is None:
            return build_ctcdecoder(alphabet.labels, kenlm_model_path=str(model), alpha=config.alpha, beta=config.beta)
        return _lm_decoder_with_word_prefixes(alphabet, str(model), list(unigrams), alpha=config.alpha,
                                              beta=config.beta)
    except (OSError, RuntimeError) as error:
        raise LanguageModelError(f"cannot load the KenLM model {model}: {error}") from error


def _lm_decoder_with_word_prefixes(alphabet: Alphabet, model: str, unigrams: list[str], *, alpha: float,
                                   beta: float):
    """What ``build_ctcdecoder`` makes, with the known words' prefixes kept in a set.

    pyctcdecode asks one thing of its character trie: is this partial word
    the start of a known word? It builds a pygtrie trie of every unigram for
    that, 1.5-3 s for the bundled 39,508 words, paid by every ``asr
    transcribe``; a set of their prefixes answers the same question and
    builds in about 0.1 s. The beams are the same (tested).
    """
    import kenlm
    from pyctcdecode.alphabet import Alphabet as LabelAlphabet
    from pyctcdecode.decoder import BeamSearchDecoderCTC
    from pyctcdecode.language_model import LanguageModel, _prepare_unigram_set

    from pyctcdecode.constants import DEFAULT_SCORE_LM_BOUNDARY, DEFAULT_UNK_LOGP_OFFSET

    class PrefixSetLanguageModel(LanguageModel):
        def __init__(self, kenlm_model, words):  # LanguageModel.__init__'s fields, with our prefixes for its trie
            self._kenlm_model = kenlm_model
            self._unigram_set = _prepare_unigram_set(words, kenlm_model)
            self._char_trie = _WordPrefixes(self._unigram_set)
            self.alpha, self.beta = alpha, beta
            self.unk_score_offset, self.score_boundary = DEFAULT_UNK_LOGP_OFFSET, DEFAULT_SCORE_LM_BOUNDARY

    language_model = PrefixSetLanguageModel(kenlm.Model(model), unigrams)
    return BeamSearchDecoderCTC(LabelAlphabet.build_alphabet(alphabet.labels), language_model)


class _WordPrefixes:
    """Every prefix of a set of words, answering pygtrie's ``has_node`` (0: no word starts so)."""

    def __init__(self, words: Iterable[str]):
        self._prefixes = {word[:end] for word in words for end in range(1, len(word) + 1)}

    def has_node(self, prefix: str) -> int:
        return int(prefix in self._prefixes)
