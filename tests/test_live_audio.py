"""Live audio from a pipe: raw and WAV PCM in chunks, resampled and mixed to 16 kHz mono, cut-off input kept."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
import soundfile

from asr.errors import AudioError
from asr.live_audio import PcmReader, play_file
from conftest import tone, write_audio


def _wav_bytes(samples: np.ndarray, sr: int, subtype: str) -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, sr, format="WAV", subtype=subtype)
    return buffer.getvalue()


def _read_all(data: bytes, **options) -> tuple[np.ndarray, PcmReader]:
    reader = PcmReader(io.BytesIO(data), name="mic", **options)
    chunks = list(reader)
    return (np.concatenate(chunks) if chunks else np.zeros(0, np.float32)), reader


def test_raw_16_bit_pcm_is_read_in_chunks_of_the_asked_length():
    samples = tone(1.0)
    pcm = (samples * 32767).astype("<i2")
    reader = PcmReader(io.BytesIO(pcm.tobytes()), chunk_ms=100)
    chunks = list(reader)
    assert [chunk.size for chunk in chunks] == [1600] * 10
    np.testing.assert_allclose(np.concatenate(chunks), pcm / 32768, atol=1e-6)


@pytest.mark.parametrize("subtype, tolerance", [("PCM_16", 1e-4), ("PCM_24", 1e-6), ("PCM_32", 1e-6),
                                                ("FLOAT", 1e-7)])
def test_wav_streams_of_each_sample_format_give_the_samples(subtype, tolerance):
    samples = tone(0.5) * 0.5
    read, reader = _read_all(_wav_bytes(samples, 16000, subtype))
    assert reader.format.sample_rate == 16000
    np.testing.assert_allclose(read, samples, atol=tolerance)


def test_a_stereo_44100_hz_wav_stream_becomes_16_khz_mono():
    left = tone(1.0, sr=44100, frequency=440.0)
    read, _ = _read_all(_wav_bytes(np.stack([left, left], axis=1), 44100, "PCM_16"))
    assert abs(read.size - 16000) <= 2
    spectrum = np.abs(np.fft.rfft(read[2000:14000]))
    assert abs(np.argmax(spectrum) * 16000 / 12000 - 440.0) < 3.0


def test_a_wav_stream_whose_header_claims_a_placeholder_size_is_read_to_the_end():
    """arecord writes a data size it cannot know yet; the samples that follow are all read."""
    data = bytearray(_wav_bytes(tone(0.3), 16000, "PCM_16"))
    data_at = data.index(b"data")
    data[data_at + 4:data_at + 8] = struct.pack("<I", 0x7FFFFFFF)
    data[4:8] = struct.pack("<I", 0x7FFFFFFF)
    read, _ = _read_all(bytes(data))
    assert read.size == round(0.3 * 16000)


def test_input_cut_off_mid_sample_keeps_every_whole_sample_and_reports_the_rest():
    pcm = (tone(0.25) * 32767).astype("<i2").tobytes()
    read, reader = _read_all(pcm + b"\x01")
    assert read.size == len(pcm) // 2 and reader.dropped_bytes == 1


def test_nan_and_infinite_float_samples_become_counted_silence():
    samples = tone(0.2).astype("<f4")
    samples[[5, 77, 900]] = [np.nan, np.inf, 1e30]
    read, reader = _read_all(_wav_bytes(samples, 16000, "FLOAT"))
    assert np.isfinite(read).all() and reader.silenced_samples == 3
    assert read[5] == read[77] == read[900] == 0.0 and read.size == samples.size


def test_empty_input_gives_no_chunks():
    read, reader = _read_all(b"")
    assert read.size == 0 and reader.dropped_bytes == 0


@pytest.mark.parametrize("data, problem", [
    (b"RIFF\x00\x00\x00\x00AVI LIST", "is not a WAV stream"),
    (b"RIFF\x24\x00\x00\x00WAVEdata\x00\x00\x00\x00", "no 'fmt ' chunk"),
    (b"RIFF\x24\x00\x00\x00WAVEfmt ", "ended before its samples"),
])
def test_a_broken_wav_header_is_an_audio_error_naming_the_input(data, problem):
    with pytest.raises(AudioError, match=f"mic.*{problem}"):
        PcmReader(io.BytesIO(data), name="mic")


def test_an_unsupported_wav_sample_format_is_named():
    with pytest.raises(AudioError, match="8 bits are not supported"):
        PcmReader(io.BytesIO(_wav_bytes(tone(0.1), 16000, "PCM_U8")), name="mic")


def test_a_file_played_without_waiting_gives_all_its_samples(tmp_path):
    path = write_audio(tmp_path / "a.flac", tone(0.55), 16000)
    chunks = list(play_file(str(path), chunk_ms=100, realtime=False))
    assert [chunk.size for chunk in chunks] == [1600] * 5 + [800]
