"""Streaming recognition: samples in as they arrive, partial and final words out.

A :class:`StreamingRecognizer` takes chunks of 16 kHz mono samples of any
size and carries everything between them: the samples of the next feature
frame, the streaming network's convolution context and GRU states
(:class:`asr.streaming_network.NetworkStream`), and the open segment's
log-probabilities and decoding (:meth:`asr.decoders.Decoder.stream`: the
beam and lm decoders carry their beams and language model states from chunk
to chunk). After each chunk it returns a :class:`StreamUpdate`: the open
segment's words so far (``partial``, the chosen decoder's best reading of its
frames, which may still change) and every segment the endpointer
(:mod:`asr.endpointing`) closed in the meantime, decoded with the chosen
decoder (greedy, beam, or lm) into final words timed from the start of the
stream. The features of a frame need only its own 32 ms of samples and the
network only 40 ms more, so a word can appear about 100 ms after it is
spoken, plus the chunk size.

Fed a file in chunks of any sizes, it finalises exactly the words it
finalises when fed the file at once (:func:`transcribe_stream` with
``chunk_seconds=None``), and with the greedy decoder those are the words
of the whole file's greedy transcript.

Examples
--------
>>> from asr import load_model  # doctest: +SKIP
>>> recognizer = load_model("models/streaming").stream(decoder="greedy")  # doctest: +SKIP
>>> for chunk in microphone_chunks():  # doctest: +SKIP
...     update = recognizer.accept(chunk)
...     print(update.partial, [segment.text for segment in update.finals])
>>> recognizer.finish().finals  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np

from asr.decoders import Word
from asr.endpointing import EndpointConfig, Endpointer
from asr.features import compute_features

STREAMABLE_FEATURES = ("spectrogram", "logmel")  # frame-local kinds; MFCC's dB floor reads the whole input


@dataclass(frozen=True)
class Segment:
    """A finalised stretch of a stream between pauses.

    Attributes
    ----------
    text : str
        Its words, separated by single spaces.
    start, end : float
        Seconds from the start of the stream: the segment's first and last output frame.
    words : tuple of Word
        Each word timed from the start of the stream.
    """

    text: str
    start: float
    end: float
    words: tuple[Word, ...]

    def to_dict(self) -> dict:
        """Plain values for JSON."""
        return {"text": self.text, "start": round(self.start, 3), "end": round(self.end, 3),
                "words": [{"word": w.word, "start": round(w.start, 3), "end": round(w.end, 3),
                           "confidence": round(w.confidence, 4)} for w in self.words]}


@dataclass(frozen=True)
class StreamUpdate:
    """What one chunk of audio changed.

    Attributes
    ----------
    finals : tuple of Segment
        Segments closed since the last update, in order, each with words; silent ones are left out.
    partial : str
        The open segment's words so far, the decoder's best reading; they may still change.
    seconds : float
        Audio received so far, in seconds.
    """

    finals: tuple[Segment, ...]
    partial: str
    seconds: float


class StreamingRecognizer:
    """Live recognition with a streaming model folder (one trained with ``--model streaming_gru``).

    Make one with :meth:`asr.transcriber.Transcriber.stream`; feed it with
    :meth:`accept` and end it with :meth:`finish`.

    Parameters
    ----------
    transcriber : asr.transcriber.Transcriber
        The model folder, its decoders and its streaming network.
    decoder : {"greedy", "beam", "lm"}
        Decodes each segment as its frames come, for the partial and the final words.
    endpoint : EndpointConfig
    hotwords : sequence of str, optional
        Words to favour (beam and lm).
    """

    def __init__(self, transcriber, *, decoder: str = "greedy", endpoint: EndpointConfig = EndpointConfig(),
                 hotwords: Sequence[str] | None = None):
        folder = transcriber.folder
        if folder.features.kind not in STREAMABLE_FEATURES:
            raise ValueError(f"{folder.path}: {folder.features.kind} features cannot stream; "
                             f"expected one of {STREAMABLE_FEATURES}")
        self.sample_rate = folder.features.sample_rate
        self.frame_seconds = folder.frame_seconds
        self._folder = folder
        self._decoder = transcriber.decoder(decoder)
        self._hotwords = list(hotwords) if hotwords else None
        self._network = transcriber.streaming_network().stream()
        silent = {folder.alphabet.blank_index} | {i for i, label in enumerate(folder.alphabet.labels) if label == " "}
        self._endpointer = Endpointer(endpoint, frame_seconds=self.frame_seconds, silent_classes=silent)
        self._pending = np.zeros(0, dtype=np.float32)  # samples from the start of the next feature frame
        self._received = 0  # samples received
        self._segment_start = 0  # the open segment's first output frame
        self._utterance = self._decoder.stream(frame_seconds=self.frame_seconds, hotwords=self._hotwords)  # its decoding
        self.finished = False

    def accept(self, samples: np.ndarray) -> StreamUpdate:
        """Feed the next samples (float32 in [-1, 1] at ``sample_rate``, any number, 0 included).

        Raises
        ------
        ValueError
            If the samples are not a 1-D array of finite numbers.
        RuntimeError
            After :meth:`finish`.
        """
        if self.finished:
            raise RuntimeError("this stream is finished; start another with transcriber.stream()")
        samples = np.asarray(samples, dtype=np.float32)
        if samples.ndim != 1 or not np.isfinite(samples).all():
            raise ValueError(f"expected a 1-D array of finite samples, got shape {samples.shape}")
        self._received += samples.size
        return self._advance(self._network.push(self._frames(samples)))

    def finish(self) -> StreamUpdate:
        """End the stream: the model's look-ahead is padded, and the open segment becomes final."""
        if self.finished:
            raise RuntimeError("this stream is finished already")
        self.finished = True
        update = self._advance(self._network.finish())
        last = self._close(self._endpointer.frames)
        return replace(update, finals=update.finals + ((last,) if last.text else ()), partial="")

    def _frames(self, samples: np.ndarray) -> np.ndarray:
        """Normalised feature frames complete with these samples; the rest wait in ``_pending``."""
        features = self._folder.features
        self._pending = np.concatenate([self._pending, samples])
        count = (self._pending.size - features.fft_size) // features.hop_length + 1
        if count <= 0:
            return np.zeros((0, features.dim), dtype=np.float32)
        used = (count - 1) * features.hop_length + features.fft_size
        frames = compute_features(self._pending[:used], features)
        self._pending = self._pending[count * features.hop_length:]
        return self._folder.normalizer(frames)

    def _advance(self, log_probs: np.ndarray) -> StreamUpdate:
        """Take new output frames: close the segments they end, return the update."""
        first = self._endpointer.frames  # the stream's index of log_probs[0]
        finals, taken = [], 0
        for end in self._endpointer.push(log_probs.argmax(axis=1)):
            cut = max(end - first, taken)  # a segment cut short at its last pause may end in frames taken already
            self._utterance.push(log_probs[taken:cut])
            taken = cut
            segment = self._close(end)
            if segment.text:
                finals.append(segment)
        self._utterance.push(log_probs[taken:])
        return StreamUpdate(finals=tuple(finals), partial=self._utterance.partial,
                            seconds=self._received / self.sample_rate)

    def _close(self, end: int) -> Segment:
        """Decode the open segment's frames up to ``end`` (exclusive) and start the next there.

        The segment's decoding has read its frames as they came; where the
        segment ends before its last frame (cut short at its last pause), its
        frames up to ``end`` are decoded again, and the rest open the next one.
        """
        frames = self._utterance.log_probs
        cut = end - self._segment_start
        if cut == self._utterance.frames:
            hypothesis = self._utterance.finish()[0]
        else:
            hypothesis = self._decoder.decode(frames[:cut], frame_seconds=self.frame_seconds, hotwords=self._hotwords)
        start_seconds = self._segment_start * self.frame_seconds
        self._segment_start = end
        self._utterance = self._decoder.stream(frame_seconds=self.frame_seconds, hotwords=self._hotwords)
        self._utterance.push(frames[cut:])
        words = tuple(replace(w, start=w.start + start_seconds, end=w.end + start_seconds) for w in hypothesis.words)
        return Segment(text=hypothesis.text, start=start_seconds, end=end * self.frame_seconds, words=words)


def stream_chunks(samples: np.ndarray, *, chunk_samples: int | Iterable[int]) -> Iterator[np.ndarray]:
    """Cut samples into chunks of a fixed size, or of the sizes an iterable gives (the last may be short)."""
    sizes = iter(lambda: chunk_samples, None) if isinstance(chunk_samples, int) else iter(chunk_samples)
    start = 0
    while start < samples.size:
        size = next(sizes)
        yield samples[start:start + size]
        start += size


def transcribe_stream(recognizer: StreamingRecognizer, samples: np.ndarray, *,
                      chunk_seconds: float | None = 0.1) -> list[Segment]:
    """Feed a whole array through a recognizer a chunk at a time; return its final segments.

    ``chunk_seconds=None`` feeds it at once: the offline reading of the same
    model, endpointing included.
    """
    chunk = samples.size if chunk_seconds is None else max(1, round(chunk_seconds * recognizer.sample_rate))
    segments = []
    for part in stream_chunks(samples, chunk_samples=max(chunk, 1)):
        segments.extend(recognizer.accept(part).finals)
    segments.extend(recognizer.finish().finals)
    return segments
