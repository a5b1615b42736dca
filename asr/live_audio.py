"""Live audio: PCM arriving on a pipe (raw or WAV), or a file played at real-time speed, as chunks of samples.

``arecord -f S16_LE -r 16000 -c 1 -t raw | asr transcribe --stream -`` sends
raw 16-bit little-endian samples; ``arecord -f cd | ...`` or ``sox ... -t wav -``
send a WAV stream, whose header gives the rate, channels and sample format
(16-bit, 24-bit or 32-bit integers, 32-bit floats); any rate is resampled to
16 kHz as it arrives and channels are averaged. A stream's ``data`` chunk is
read until the input ends, whatever size its header claims (``arecord`` writes
a placeholder). Input cut off mid-sample loses only the incomplete sample,
which :attr:`PcmReader.dropped_bytes` reports; float samples that are NaN,
infinite or absurdly large become silence, counted in
:attr:`PcmReader.silenced_samples`, and the stream goes on.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import soxr

from asr.audio import MAX_SAMPLE_MAGNITUDE, RESAMPLER_QUALITY, load_audio
from asr.constants import SAMPLE_RATE, STREAM_CHUNK_MS
from asr.errors import AudioError

WAV_FORMAT_PCM, WAV_FORMAT_FLOAT, WAV_FORMAT_EXTENSIBLE = 1, 3, 0xFFFE
MAX_HEADER_CHUNK_BYTES = 1 << 20  # a chunk before 'data' larger than this is a broken header, not metadata


@dataclass(frozen=True)
class PcmFormat:
    """How samples are laid out in a byte stream.

    Attributes
    ----------
    sample_rate : int
        Hz.
    channels : int
    sample_type : str
        NumPy dtype of one sample: ``<i2``, ``<i4``, ``<f4``, or ``i3`` (24-bit little-endian).
    """

    sample_rate: int = SAMPLE_RATE
    channels: int = 1
    sample_type: str = "<i2"

    @property
    def sample_bytes(self) -> int:
        return 3 if self.sample_type == "i3" else np.dtype(self.sample_type).itemsize

    @property
    def frame_bytes(self) -> int:
        """Bytes of one sample of every channel."""
        return self.sample_bytes * self.channels


class PcmReader:
    """Chunks of 16 kHz mono float32 samples from a binary stream of raw or WAV PCM.

    Parameters
    ----------
    stream : binary file object
        Standard input, a pipe, a socket file or a file.
    name : str
        How messages name the input (``-`` for standard input).
    chunk_ms : float
        Milliseconds of input audio per chunk.

    Raises
    ------
    AudioError
        If the stream starts like a WAV file but its header is not one this reads.
    """

    def __init__(self, stream: BinaryIO, *, name: str = "-", chunk_ms: float = STREAM_CHUNK_MS):
        if chunk_ms <= 0:
            raise ValueError(f"chunk_ms must be positive, got {chunk_ms}")
        self.name = name
        self._stream = stream
        head = _read_exactly(stream, 4)
        self.format, self._carry = (_read_wav_header(stream, name), b"") if head == b"RIFF" else (PcmFormat(), head)
        self._chunk_bytes = max(1, round(chunk_ms / 1000 * self.format.sample_rate)) * self.format.frame_bytes
        self._resampler = (soxr.ResampleStream(self.format.sample_rate, SAMPLE_RATE, 1, dtype="float32",
                                               quality=RESAMPLER_QUALITY)
                           if self.format.sample_rate != SAMPLE_RATE else None)
        self.dropped_bytes = 0  # bytes of an incomplete last sample, when the input was cut off mid-sample
        self.silenced_samples = 0  # float samples that were NaN, infinite or beyond MAX_SAMPLE_MAGNITUDE, set to 0

    def __iter__(self) -> Iterator[np.ndarray]:
        while True:
            wanted = self._chunk_bytes - len(self._carry)
            more = _read_exactly(self._stream, wanted)
            data, last = self._carry + more, len(more) < wanted  # a short read is the end of the input
            whole = len(data) - len(data) % self.format.frame_bytes
            self._carry = data[whole:]
            samples = self._resample(self._finite(_to_float(data[:whole], self.format)), last=last)
            if samples.size:
                yield samples
            if last:
                self.dropped_bytes = len(self._carry)
                return

    def _finite(self, samples: np.ndarray) -> np.ndarray:
        """Float samples that are not numbers a microphone gives (NaN, inf, huge) become silence, counted."""
        bad = ~(np.abs(samples) <= MAX_SAMPLE_MAGNITUDE)
        if bad.any():
            self.silenced_samples += int(bad.sum())
            samples = np.where(bad, np.float32(0.0), samples)
        return samples

    def _resample(self, samples: np.ndarray, *, last: bool) -> np.ndarray:
        if self._resampler is None:
            return samples
        return self._resampler.resample_chunk(samples, last=last)


def _read_exactly(stream: BinaryIO, count: int) -> bytes:
    """Up to ``count`` bytes, fewer only at the end of the input."""
    data = b""
    while len(data) < count:
        more = stream.read(count - len(data))
        if not more:
            break
        data += more
    return data


def _read_wav_header(stream: BinaryIO, name: str) -> PcmFormat:
    """Read a WAV header after 'RIFF' up to the start of the samples; the format it gives."""
    riff = _read_exactly(stream, 8)
    if len(riff) < 8 or riff[4:] != b"WAVE":
        raise AudioError(name, "starts with RIFF but is not a WAV stream")
    format_ = None
    while True:
        header = _read_exactly(stream, 8)
        if len(header) < 8:
            raise AudioError(name, "the WAV stream ended before its samples began")
        chunk, size = header[:4], struct.unpack("<I", header[4:])[0]
        if chunk == b"data":
            if format_ is None:
                raise AudioError(name, "the WAV stream has no 'fmt ' chunk before its samples")
            return format_
        if size > MAX_HEADER_CHUNK_BYTES:
            raise AudioError(name, f"the WAV stream's {chunk!r} chunk claims {size} bytes; expected a header")
        body = _read_exactly(stream, size + size % 2)
        if chunk == b"fmt ":
            format_ = _wav_format(body, name)


def _wav_format(body: bytes, name: str) -> PcmFormat:
    """The PcmFormat of a WAV 'fmt ' chunk."""
    if len(body) < 16:
        raise AudioError(name, "the WAV stream's 'fmt ' chunk is too short")
    tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
    if tag == WAV_FORMAT_EXTENSIBLE and len(body) >= 26:
        tag = struct.unpack("<H", body[24:26])[0]
    types = {(WAV_FORMAT_PCM, 16): "<i2", (WAV_FORMAT_PCM, 24): "i3", (WAV_FORMAT_PCM, 32): "<i4",
             (WAV_FORMAT_FLOAT, 32): "<f4"}
    if (tag, bits) not in types:
        raise AudioError(name, f"WAV samples of format {tag} with {bits} bits are not supported; "
                               "expected 16-, 24- or 32-bit integers or 32-bit floats")
    if not 1 <= channels <= 64 or not 1_000 <= rate <= 384_000:
        raise AudioError(name, f"the WAV stream claims {channels} channel(s) at {rate} Hz")
    return PcmFormat(sample_rate=rate, channels=channels, sample_type=types[tag, bits])


def _to_float(data: bytes, format_: PcmFormat) -> np.ndarray:
    """Whole frames of PCM bytes -> mono float32 in [-1, 1]."""
    if format_.sample_type == "i3":
        raw = np.frombuffer(data, dtype=np.uint8).reshape(-1, 3)
        values = (raw[:, 0].astype(np.int32) | raw[:, 1].astype(np.int32) << 8 | raw[:, 2].astype(np.int32) << 16)
        samples = ((values ^ 0x800000) - 0x800000) / float(1 << 23)
    else:
        values = np.frombuffer(data, dtype=format_.sample_type)
        samples = values if values.dtype.kind == "f" else values / float(2 ** (8 * values.dtype.itemsize - 1))
    samples = np.asarray(samples, dtype=np.float32).reshape(-1, format_.channels)
    return samples.mean(axis=1) if format_.channels > 1 else samples[:, 0]


def play_file(path: str, *, chunk_ms: float = STREAM_CHUNK_MS, realtime: bool = True) -> Iterator[np.ndarray]:
    """A file's samples (any format, as 16 kHz mono) in chunks, each released when real time reaches it.

    With ``realtime=False`` the chunks come as fast as they are taken.
    """
    samples = load_audio(path)
    chunk = max(1, round(chunk_ms / 1000 * SAMPLE_RATE))
    start = time.monotonic()
    for offset in range(0, samples.size, chunk):
        if realtime:
            time.sleep(max(0.0, start + (offset + chunk) / SAMPLE_RATE - time.monotonic()))
        yield samples[offset:offset + chunk]
