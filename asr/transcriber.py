"""Transcription: audio in, text with word timings out, through a loaded model folder."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from os import PathLike

import numpy as np

from asr.audio import audio_duration, load_audio, stream_audio
from asr.decoders import Word, decoder_from_config
from asr.endpointing import DEFAULT_MAX_SEGMENT_SECONDS, DEFAULT_PAUSE_MS, EndpointConfig
from asr.features import compute_features
from asr.model_folder import ModelFolder, load_model_folder
from asr.networks import output_lengths
from asr.segmentation import is_silent, split_at_pauses, split_stream

DECODERS = ("greedy", "beam", "lm")
BATCH_FRAMES = 60_000  # padded feature frames per acoustic-model batch (10 minutes at 10 ms)
CHUNKS_PER_BATCH = 64  # chunks of audio held in memory at once while transcribing
STREAM_OVER_SECONDS = 300.0  # s: longer files are decoded and transcribed a block at a time


@dataclass(frozen=True)
class Transcript:
    """The transcript of one input.

    Attributes
    ----------
    text : str
        Normalised words separated by spaces; empty for silence.
    duration : float
        Seconds of audio.
    words : tuple of Word
        Each word with its start and end in seconds and a confidence in [0, 1].
    source : str or None
        The file transcribed, None for an array.
    """

    text: str
    duration: float
    words: tuple[Word, ...]
    source: str | None = None

    def to_dict(self) -> dict:
        """Plain values for JSON."""
        return {"path": self.source, "text": self.text, "duration": round(self.duration, 3),
                "words": [{"word": w.word, "start": round(w.start, 3), "end": round(w.end, 3),
                           "confidence": round(w.confidence, 4)} for w in self.words]}


class Transcriber:
    """A model folder ready to transcribe: features, acoustic model, decoders.

    Use :func:`load_model` to make one.
    """

    def __init__(self, folder: ModelFolder):
        self.folder = folder
        self._decoders = {}
        self._streaming_network = None

    @property
    def sample_rate(self) -> int:
        """Hz of the audio the model takes."""
        return self.folder.features.sample_rate

    def decoder(self, kind: str = "lm", *, beam_width: int | None = None):
        """The decoder of a kind (greedy, beam, lm) with the folder's settings, built once and kept.

        ``beam_width`` replaces the folder's (``decoding.beam_width``).
        """
        if kind not in DECODERS:
            raise ValueError(f"decoder must be one of {DECODERS}, got {kind!r}")
        settings = self.folder.decoding
        if kind == "lm" and settings.lm_path is None:
            raise ValueError(f"{self.folder.path}: this model has no language model; use decoder='beam'")
        key = (kind, beam_width or settings.beam_width)
        if key not in self._decoders:
            config = settings.for_kind(kind, beam_width=key[1])
            self._decoders[key] = decoder_from_config(config, alphabet=self.folder.alphabet)
        return self._decoders[key]

    def streaming_network(self):
        """The folder's model as a :class:`asr.streaming_network.StreamingNetwork`, loaded once and kept.

        Raises
        ------
        ModelError
            If the model cannot stream (it is not a ``streaming_gru``).
        """
        if self._streaming_network is None:
            from asr.streaming_network import load_streaming_network

            self._streaming_network = load_streaming_network(self.folder.path)
        return self._streaming_network

    def stream(self, *, decoder: str = "greedy", pause_ms: float = DEFAULT_PAUSE_MS,
               max_segment_seconds: float = DEFAULT_MAX_SEGMENT_SECONDS, hotwords: Sequence[str] | None = None):
        """A new live recognizer (:class:`asr.streaming.StreamingRecognizer`) on this streaming model.

        Parameters
        ----------
        decoder : {"greedy", "beam", "lm"}
            Reads each segment as its frames come: the partial words, and the final ones once a pause ends it.
        pause_ms : float
            Milliseconds of non-speech that end a segment.
        max_segment_seconds : float
            A segment without a pause is cut at this length.
        hotwords : sequence of str, optional

        Raises
        ------
        ModelError
            If the model cannot stream.
        """
        from asr.streaming import StreamingRecognizer

        endpoint = EndpointConfig(pause_ms=pause_ms, max_segment_seconds=max_segment_seconds)
        return StreamingRecognizer(self, decoder=decoder, endpoint=endpoint, hotwords=hotwords)

    def log_probs(self, samples: np.ndarray) -> np.ndarray:
        """Per-frame log-probabilities of 16 kHz mono samples, shape (frames, num_classes)."""
        return self.log_probs_batch([samples])[0]

    def log_probs_batch(self, batch: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Log-probabilities of many inputs, run in padded, length-sorted batches.

        Parameters
        ----------
        batch : sequence of np.ndarray [shape=(n,), float32]
            Samples at ``sample_rate``.

        Returns
        -------
        list of np.ndarray [shape=(frames_i, num_classes)]
            In input order.
        """
        features = [self.folder.normalizer(compute_features(samples, self.folder.features)) for samples in batch]
        results: list[np.ndarray | None] = [None] * len(features)
        order = sorted(range(len(features)), key=lambda i: features[i].shape[0])
        for group in _groups(order, [f.shape[0] for f in features], BATCH_FRAMES):
            longest = max(features[i].shape[0] for i in group)
            padded = np.zeros((len(group), longest, features[group[0]].shape[1]), dtype=np.float32)
            for row, i in enumerate(group):
                padded[row, : features[i].shape[0]] = features[i]
            scores = self.folder.network.log_probs(padded)
            for row, i in enumerate(group):
                frames = int(output_lengths(self.folder.network, features[i].shape[0]))
                results[i] = scores[row, :frames]
        return results

    def transcribe(self, source, *, sr: int | None = None, decoder: str = "lm",
                   hotwords: Sequence[str] | None = None) -> Transcript:
        """Transcribe one file or array.

        Parameters
        ----------
        source : str, PathLike or np.ndarray
            A file, or samples (then ``sr`` gives their rate; default 16 kHz).
        sr : int, optional
            Sample rate of an array source, in Hz.
        decoder : {"lm", "beam", "greedy"}
        hotwords : sequence of str, optional
            Words to favour (beam and lm decoders).

        Returns
        -------
        Transcript

        Raises
        ------
        AudioError
            If the audio cannot be loaded; the message names the file.
        """
        return self.transcribe_batch([source], sr=sr, decoder=decoder, hotwords=hotwords)[0]

    def transcribe_batch(self, sources: Sequence, *, sr: int | None = None, decoder: str = "lm",
                         hotwords: Sequence[str] | None = None) -> list[Transcript]:
        """Transcribe many inputs; raises on the first one that cannot be loaded.

        Each input is cut at pauses into chunks of at most 20 s
        (:func:`asr.segmentation.split_at_pauses`); the chunks of all inputs
        go through the acoustic model in padded, length-sorted batches, and
        their words are joined with times counted from the start of the input.
        Chunks of digital silence (:func:`asr.segmentation.is_silent`) give no words.
        Files longer than STREAM_OVER_SECONDS are decoded and transcribed a
        block at a time, so that memory does not grow with their length.
        """
        decode = self.decoder(decoder)
        transcripts = {i: self._transcribe_stream(source, decode, hotwords)
                       for i, source in enumerate(sources) if _is_long_file(source)}
        samples = {i: self.load(source, sr=sr) for i, source in enumerate(sources) if i not in transcripts}
        pieces = [(i, start, audio[start:end]) for i, audio in samples.items()
                  for start, end in split_at_pauses(audio, sr=self.sample_rate) if not is_silent(audio[start:end])]
        words = self._timed_words(pieces, decode, hotwords)
        for i, audio in samples.items():
            transcripts[i] = _transcript(sources[i], audio.size / self.sample_rate, words[i])
        return [transcripts[i] for i in range(len(sources))]

    def _timed_words(self, pieces: list[tuple], decode, hotwords) -> defaultdict[object, list[Word]]:
        """Words of chunks ``(key, first sample, samples)``, timed from the start of each key's audio."""
        words = defaultdict(list)
        for first in range(0, len(pieces), CHUNKS_PER_BATCH):
            group = pieces[first:first + CHUNKS_PER_BATCH]
            for (key, start, _), scores in zip(group, self.log_probs_batch([piece for _, _, piece in group])):
                hypothesis = decode.decode(scores, frame_seconds=self.folder.frame_seconds, hotwords=hotwords)
                offset = start / self.sample_rate
                words[key] += [replace(w, start=w.start + offset, end=w.end + offset) for w in hypothesis.words]
        return words

    def _transcribe_stream(self, path, decode, hotwords) -> Transcript:
        """One long file, decoded, cut and transcribed a block at a time (:func:`asr.segmentation.split_stream`).

        Memory holds one decoded block and at most CHUNKS_PER_BATCH chunks (about 21 minutes of audio)
        waiting for the acoustic model, whatever the file's length.
        """
        words, pending, end = [], [], 0
        for start, chunk in split_stream(stream_audio(path, sr=self.sample_rate), sr=self.sample_rate):
            end = start + chunk.size
            pending += [] if is_silent(chunk) else [(path, start, chunk)]
            if len(pending) == CHUNKS_PER_BATCH:
                words += self._timed_words(pending, decode, hotwords)[path]
                pending = []
        words += self._timed_words(pending, decode, hotwords)[path]
        return _transcript(path, end / self.sample_rate, words)

    def load(self, source, *, sr: int | None = None) -> np.ndarray:
        """Samples of a file, or of an array at ``sr`` Hz (default 16 kHz), at the model's rate.

        Raises
        ------
        AudioError
            If the audio cannot be loaded.
        """
        if isinstance(source, (str, PathLike)):
            return load_audio(source, sr=self.sample_rate)
        return load_audio(source, sr=self.sample_rate, source_sr=sr or self.sample_rate)


def _is_long_file(source) -> bool:
    """Whether a source is a file longer than STREAM_OVER_SECONDS (by its header)."""
    return isinstance(source, (str, PathLike)) and audio_duration(source) > STREAM_OVER_SECONDS


def _transcript(source, duration: float, words: list[Word]) -> Transcript:
    """A Transcript of timed words; ``source`` named when it is a file."""
    return Transcript(text=" ".join(w.word for w in words), duration=duration, words=tuple(words),
                      source=str(source) if isinstance(source, (str, PathLike)) else None)


def _groups(order: list[int], lengths: list[int], budget: int) -> list[list[int]]:
    """Cut length-sorted indices into groups whose padded size stays within ``budget`` frames."""
    groups, current = [], []
    for i in order:
        if current and lengths[i] * (len(current) + 1) > budget:
            groups.append(current)
            current = []
        current.append(i)
    return groups + ([current] if current else [])


def load_model(path: str | PathLike | None = None, *, runtime: str = "auto", streaming: bool = False) -> Transcriber:
    """Load a model folder as a :class:`Transcriber`; with no path, a model shipped with ``asr``.

    With no path, ``streaming`` picks which shipped model: the offline
    default (bidirectional, the more accurate) or the streaming one, whose
    :meth:`Transcriber.stream` recognises live audio.

    ``runtime``: ``auto`` runs the folder's exported graph in ONNX Runtime
    when it has a current one (TensorFlow is then never imported), else
    Keras; ``onnx`` or ``keras`` insist (:func:`asr.networks.load_network`).

    Examples
    --------
    >>> transcriber = asr.load_model()  # doctest: +SKIP
    >>> transcriber.transcribe("speech.wav").text  # doctest: +SKIP
    'hello world'
    >>> live = asr.load_model(streaming=True).stream(decoder="lm")  # doctest: +SKIP
    """
    return Transcriber(load_model_folder(path, runtime=runtime, streaming=streaming))
