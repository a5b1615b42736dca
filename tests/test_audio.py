"""load_audio: every format and rate to 16 kHz mono float32, every bad input to AudioError."""

from __future__ import annotations

import librosa
import numpy as np
import pytest

from asr import AudioError, load_audio
from asr.audio import audio_duration
from conftest import tone, write_audio

SECONDS = 1.5

FORMATS = [
    # name, sample rate, channels, libsndfile format, subtype, allowed length error (samples at 16 kHz)
    ("pcm8.wav", 8000, 1, "WAV", "PCM_U8", 0),
    ("pcm16.wav", 16000, 1, "WAV", "PCM_16", 0),
    ("pcm24.wav", 24000, 2, "WAV", "PCM_24", 0),
    ("pcm32.wav", 44100, 2, "WAV", "PCM_32", 1),
    ("float.wav", 48000, 1, "WAV", "FLOAT", 0),
    ("double.wav", 22050, 1, "WAV", "DOUBLE", 1),
    ("lossless.flac", 32000, 2, "FLAC", "PCM_16", 0),
    ("vorbis.ogg", 44100, 2, "OGG", "VORBIS", 1),
    ("speech.opus", 48000, 1, "OGG", "OPUS", 1),
    ("compressed.mp3", 44100, 2, "MP3", "MPEG_LAYER_III", 1200),
]


@pytest.mark.parametrize("name, sr, channels, container, subtype, slack", FORMATS, ids=[f[0] for f in FORMATS])
def test_every_format_loads_at_16k_with_the_right_length_and_pitch(tmp_path, name, sr, channels, container, subtype,
                                                                     slack):
    path = write_audio(tmp_path / name, tone(SECONDS, sr=sr, channels=channels), sr, format=container, subtype=subtype)

    samples = load_audio(path)

    assert samples.dtype == np.float32 and samples.ndim == 1
    assert abs(samples.size - SECONDS * 16000) <= slack
    spectrum = np.abs(np.fft.rfft(samples))
    assert np.fft.rfftfreq(samples.size, 1 / 16000)[spectrum.argmax()] == pytest.approx(440, abs=2)


def test_requested_rate_is_honoured(tmp_path):
    path = write_audio(tmp_path / "a.wav", tone(1.0, sr=16000), 16000)
    assert load_audio(path, sr=8000).size == 8000


def test_stereo_is_mixed_down_to_the_mean_of_the_channels(tmp_path):
    left = tone(1.0, frequency=300)
    right = tone(1.0, frequency=700)
    path = write_audio(tmp_path / "stereo.wav", np.stack([left, right], axis=1), 16000, subtype="FLOAT")
    np.testing.assert_allclose(load_audio(path), (left + right) / 2, atol=1e-6)


def test_six_channels_load(tmp_path):
    path = write_audio(tmp_path / "six.wav", tone(1.0, channels=6), 16000)
    assert load_audio(path).shape == (16000,)


def test_audio_duration_reads_the_header(tmp_path):
    path = write_audio(tmp_path / "a.flac", tone(2.5, sr=22050), 22050)
    assert audio_duration(path) == pytest.approx(2.5)


@pytest.mark.parametrize("dtype, full_scale", [(np.int16, 32767), (np.int32, 2**31 - 1), (np.float64, 1.0)])
def test_arrays_load_with_their_rate(dtype, full_scale):
    samples = (tone(1.0, sr=8000) * full_scale).astype(dtype)
    loaded = load_audio(samples, source_sr=8000)
    assert loaded.size == 16000
    assert np.abs(loaded).max() == pytest.approx(0.5, abs=0.02)


def test_unsigned_8_bit_arrays_are_centred():
    samples = np.full(1000, 128, dtype=np.uint8)
    np.testing.assert_allclose(load_audio(samples, source_sr=16000), 0.0)


def _empty(path):
    path.write_bytes(b"")


def _not_audio(path):
    path.write_bytes(b"this is a text file, not a RIFF header\n" * 20)


def _no_samples(path):
    write_audio(path, np.zeros(0, dtype=np.float32), 16000)


def _nan(path):
    samples = tone(0.5)
    samples[100] = np.nan
    write_audio(path, samples, 16000, subtype="FLOAT")


def _inf(path):
    samples = tone(0.5)
    samples[-1] = np.inf
    write_audio(path, samples, 16000, subtype="FLOAT")


def _too_short(path):
    write_audio(path, tone(0.005), 16000)


def _truncated_flac(path):
    full = path.with_suffix(".full.flac")
    write_audio(full, tone(2.0), 16000)
    path.write_bytes(full.read_bytes()[:40])


BAD_FILES = [
    (None, "no such file"),
    (_empty, "empty"),
    (_not_audio, "not a readable audio file"),
    (_no_samples, "no samples"),
    (_nan, "NaN or infinite"),
    (_inf, "NaN or infinite"),
    (_too_short, "shorter than one 20 ms analysis window"),
    (_truncated_flac, ""),
]


@pytest.mark.parametrize("make, reason", BAD_FILES, ids=["missing", "empty", "not-audio", "no-samples", "nan", "inf",
                                                         "too-short", "truncated-flac"])
def test_bad_files_raise_audio_error_naming_the_file(tmp_path, make, reason):
    path = tmp_path / "bad file ü.flac" if make is _truncated_flac else tmp_path / "bad file ü.wav"
    if make is not None:
        make(path)
    with pytest.raises(AudioError) as caught:
        load_audio(path)
    assert str(path) in str(caught.value)
    assert reason in str(caught.value)
    assert caught.value.source == str(path)


def test_a_folder_is_not_audio(tmp_path):
    with pytest.raises(AudioError, match="folder"):
        load_audio(tmp_path)


@pytest.mark.parametrize("samples, source_sr, reason", [
    (np.zeros(100), None, "source_sr"),
    (np.zeros((2, 3, 4)), 16000, "shape"),
    (np.array(["a", "b"]), 16000, "dtype"),
    (np.zeros(0), 16000, "no samples"),
    (np.full(1000, np.nan), 16000, "NaN"),
])
def test_bad_arrays_raise_audio_error(samples, source_sr, reason):
    with pytest.raises(AudioError, match=reason):
        load_audio(samples, source_sr=source_sr)


def test_streamed_blocks_join_into_the_whole_file_resampled(tmp_path):
    from asr.audio import stream_audio

    samples = np.random.default_rng(0).uniform(-0.5, 0.5, 48_000 * 5).astype(np.float32)
    path = write_audio(tmp_path / "noise.wav", samples, 48_000, subtype="FLOAT")
    blocks = list(stream_audio(path, block_seconds=1.0))
    assert all(abs(block.size - 16_000) < 500 for block in blocks[:-1])  # the resampler holds back a few
    whole = librosa.resample(samples, orig_sr=48_000, target_sr=16_000, res_type="soxr_hq")
    joined = np.concatenate(blocks)
    assert joined.size == whole.size and np.allclose(joined, whole, atol=1e-5)


def test_a_nan_deep_in_a_stream_raises_at_its_block(tmp_path):
    from asr.audio import stream_audio

    samples = tone(5.0)
    samples[int(3.5 * 16_000)] = np.nan
    path = write_audio(tmp_path / "late-nan.wav", samples, 16_000, subtype="FLOAT")
    stream = stream_audio(path, block_seconds=1.0)
    assert [block.size for block in (next(stream), next(stream), next(stream))] == [16_000] * 3
    with pytest.raises(AudioError, match="late-nan.wav: holds NaN or infinite samples"):
        next(stream)


@pytest.mark.parametrize("peak", [1.0, 3e4, 9e5])
def test_loud_samples_that_load_give_finite_features(tmp_path, peak):
    from asr.features import FeatureConfig, compute_features

    path = write_audio(tmp_path / "loud.wav", tone(1.0) * (2 * peak), 16_000, subtype="FLOAT")
    for kind in ("spectrogram", "logmel", "mfcc"):
        assert np.isfinite(compute_features(load_audio(path), FeatureConfig(kind=kind))).all()


def test_samples_too_large_for_finite_features_are_refused(tmp_path):
    path = write_audio(tmp_path / "damaged.wav", tone(1.0) * 1e8, 16_000, subtype="FLOAT")
    with pytest.raises(AudioError, match="damaged.wav: holds samples as large as"):
        load_audio(path)


def test_a_symlink_loop_is_an_audio_error(tmp_path):
    loop = tmp_path / "loop.wav"
    loop.symlink_to(loop)
    with pytest.raises(AudioError, match="loop.wav: no such file"):
        load_audio(loop)
