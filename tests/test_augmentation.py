"""Speaker and channel augmentations: same length and bounded output, determinism, and that each one
does what it says (pitch moves, rooms reverberate, noise meets its SNR, channels band-limit and stay aligned)."""

from __future__ import annotations

import json
import logging
import multiprocessing

import numpy as np
import pytest
import scipy.signal
import soundfile

from asr.augmentation import (
    AUGMENTATIONS,
    Channel,
    ChannelParams,
    Noise,
    NoiseParams,
    PitchShift,
    PitchShiftParams,
    Reverb,
    ReverbParams,
    augmentation_from_dict,
    augmentation_key,
)
from conftest import tone

SR = 16_000
SMALL_REVERB = Reverb(rooms=4, seed=1)  # a small bank keeps the tests fast


def chirp(seconds: float = 1.5, *, amplitude: float = 0.3, noise: float = 0.02, seed: int = 0) -> np.ndarray:
    """A speech-like test signal: a 100 Hz - 6 kHz log sweep, amplitude-modulated at 3 Hz, plus a little noise."""
    t = np.arange(int(seconds * SR)) / SR
    sweep = scipy.signal.chirp(t, 100, t[-1], 6000, method="logarithmic") * (0.6 + 0.4 * np.sin(6 * np.pi * t))
    sweep *= amplitude
    return (sweep + noise * np.random.default_rng(seed).standard_normal(t.shape)).astype(np.float32)


def voice(seconds: float, f0: float, seed: int) -> np.ndarray:
    """A crude voice: harmonics of f0 with a syllable-rate envelope and a random phase."""
    t = np.arange(int(seconds * SR)) / SR
    phase = np.random.default_rng(seed).uniform(0, 2 * np.pi, 10)
    harmonics = sum(np.sin(2 * np.pi * f0 * k * t + phase[k - 1]) / k for k in range(1, 11))
    return (0.2 * harmonics * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t) ** 2)).astype(np.float32)


@pytest.fixture(scope="module")
def babble_files(tmp_path_factory) -> tuple[str, ...]:
    """Five short wav files of different crude voices."""
    folder = tmp_path_factory.mktemp("babble")
    paths = []
    for i, f0 in enumerate([110, 140, 180, 220, 260]):
        path = folder / f"voice{i}.wav"
        soundfile.write(path, voice(0.5 + 0.3 * i, f0, i), SR)
        paths.append(str(path))
    return tuple(paths)


@pytest.fixture(scope="module")
def babble(babble_files) -> Noise:
    """Babble only, from a small bank."""
    return Noise(kinds=("babble",), babble_files=babble_files, babble_clips=3, min_babble_seconds=1.0,
                 max_babble_seconds=2.0)


def augmentations(babble_files) -> dict:
    """One of each, small where a bank is built."""
    return {"pitch": PitchShift(), "reverb": SMALL_REVERB,
            "noise": Noise(babble_files=babble_files, babble_clips=3, min_babble_seconds=1.0, max_babble_seconds=2.0),
            "channel": Channel()}


def peak_frequency(samples: np.ndarray) -> float:
    """The frequency in Hz of the strongest FFT bin (Hann window, zero-padded to 0.25 Hz bins)."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.shape[0]), n=4 * SR))
    return float(np.fft.rfftfreq(4 * SR, d=1 / SR)[np.argmax(spectrum)])


def db(power_ratio: float) -> float:
    """A power ratio in dB."""
    return 10 * np.log10(power_ratio)


def lag_of(output: np.ndarray, reference: np.ndarray, *, most: int = 2000) -> int:
    """Samples ``output`` lags ``reference`` by, from the cross-correlation peak within +-most."""
    correlation = scipy.signal.correlate(output, reference, mode="full", method="fft")
    lags = scipy.signal.correlation_lags(output.shape[0], reference.shape[0], mode="full")
    near = np.abs(lags) <= most
    return int(lags[near][np.argmax(correlation[near])])


# All augmentations ------------------------------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore:n_fft=.* is too large:UserWarning")  # librosa, on the short inputs
@pytest.mark.parametrize("name", list(AUGMENTATIONS))
@pytest.mark.parametrize("length", [1, 401, 24_000])
def test_output_has_the_input_length_and_is_bounded_float32(babble_files, name, length):
    augmentation = augmentations(babble_files)[name]
    loud = np.clip(chirp(amplitude=0.9, noise=0.1)[:length], -0.999, 0.999)
    for seed in range(6):
        out = augmentation.apply(loud, np.random.default_rng(seed))
        assert out.shape == (length,) and out.dtype == np.float32
        assert np.isfinite(out).all() and np.abs(out).max() <= 1.0


@pytest.mark.parametrize("name", list(AUGMENTATIONS))
def test_the_same_seed_gives_the_same_output_and_other_seeds_others(babble_files, name):
    augmentation, samples = augmentations(babble_files)[name], chirp(0.5)
    first = augmentation.apply(samples, np.random.default_rng(7))
    np.testing.assert_array_equal(first, augmentation.apply(samples, np.random.default_rng(7)))
    others = [augmentation.apply(samples, np.random.default_rng(seed)).tobytes() for seed in range(5)]
    assert len(set(others)) >= 3  # the test bank has 4 rooms, so two seeds may share one


def test_the_banks_are_the_same_in_a_spawned_worker(babble):
    samples = chirp(0.5)
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        theirs = pool.starmap(_apply_seeded, [(SMALL_REVERB, samples, 3), (babble, samples, 3)])
    np.testing.assert_array_equal(theirs[0], _apply_seeded(SMALL_REVERB, samples, 3))
    np.testing.assert_array_equal(theirs[1], _apply_seeded(babble, samples, 3))


def _apply_seeded(augmentation, samples: np.ndarray, seed: int) -> np.ndarray:
    """Apply with a fresh generator (run in the worker, where the banks are built anew)."""
    return augmentation.apply(samples, np.random.default_rng(seed))


BAD_SAMPLES = [
    (np.zeros((2, 800), np.float32), r"shape \(n,\), got shape \(2, 800\)"),
    (np.zeros(0, np.float32), "at least one sample"),
    (np.array([0.1, np.nan, 0.2], np.float32), "finite samples, got 1 NaN or infinite, the first at index 1"),
    (np.array([0.1, np.inf], np.float32), "finite samples"),
    (np.zeros(800, np.int16), "floating-point samples.*int16"),
]


@pytest.mark.parametrize("name", list(AUGMENTATIONS))
@pytest.mark.parametrize("samples, message", BAD_SAMPLES, ids=["2-D", "empty", "NaN", "inf", "int16"])
def test_bad_samples_are_refused_with_what_was_expected(babble_files, name, samples, message):
    augmentation = augmentations(babble_files)[name]
    with pytest.raises(ValueError, match=message):
        augmentation.apply(samples, np.random.default_rng(0))
    with pytest.raises(ValueError, match=message):
        augmentation.apply_with(samples, augmentation.draw(np.random.default_rng(0)))


def test_a_seed_in_place_of_a_generator_is_refused():
    with pytest.raises(TypeError, match="numpy.random.Generator.*got int"):
        PitchShift().apply(chirp(0.1), 0)


BAD_SETTINGS = [
    (lambda: PitchShift(max_semitones=-1.0), r"max_semitones must be in \[0, 12\]"),
    (lambda: Reverb(min_room=(1.0, 3.0, 2.5)), "min_distance .* leave room inside min_room"),
    (lambda: Reverb(min_room=(12.0, 3.0, 2.5)), "0 < min_room <= max_room"),
    (lambda: Reverb(min_rt60=0.9), "min_rt60 <= max_rt60"),
    (lambda: Reverb(rooms=0), "rooms must be at least 1"),
    (lambda: Noise(kinds=("purple",)), "kinds must be some of"),
    (lambda: Noise(kinds=("white",), min_snr_db=20.0, max_snr_db=0.0), "min_snr_db <= max_snr_db"),
    (lambda: Noise(), "pass babble_files"),
    (lambda: Noise(kinds=("white",), min_talkers=0), "1 <= min_talkers"),
    (lambda: Channel(kinds=()), "kinds must be some of"),
    (lambda: Channel(high_hz=5000.0), "high_hz < telephone_rate / 2"),
    (lambda: Channel(min_opus_compression=1.5), "max_opus_compression <= 1"),
]


@pytest.mark.parametrize("build, message", BAD_SETTINGS)
def test_bad_settings_are_refused_at_construction(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_a_codec_missing_from_libsndfile_is_named_at_construction(monkeypatch):
    monkeypatch.setattr(soundfile, "available_subtypes", lambda format=None: {})
    with pytest.raises(ValueError, match=r"libsndfile .* has no mp3 codec \(MP3/MPEG_LAYER_III\)"):
        Channel(kinds=("mp3",), min_mp3_compression=0.31, max_mp3_compression=0.32)  # levels not checked before


@pytest.mark.parametrize("name", list(AUGMENTATIONS))
def test_settings_survive_a_json_round_trip(babble_files, name):
    augmentation = augmentations(babble_files)[name]
    key = json.loads(json.dumps(augmentation_key(augmentation)))
    assert key["kind"] == type(augmentation).__name__
    rebuilt = augmentation_from_dict(key)
    assert rebuilt == augmentation and hash(rebuilt) == hash(augmentation)


@pytest.mark.parametrize("key, message", [
    ({"kind": "Echo"}, "'kind' to be one of"),
    ({"max_semitones": 2.0}, "'kind' to be one of"),
    ({"kind": "PitchShift", "semitones": 2.0}, r"PitchShift has no field\(s\) \['semitones'\]"),
])
def test_a_bad_dict_is_refused(key, message):
    with pytest.raises(ValueError, match=message):
        augmentation_from_dict(key)


# Pitch ------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("semitones", [3.0, -3.0, 1.5])
def test_pitch_shift_moves_a_tone_and_keeps_its_timing(semitones):
    burst = np.zeros(SR, np.float32)
    burst[4000:12000] = tone(0.5, frequency=440.0)  # 0.25 s to 0.75 s
    out = PitchShift().apply_with(burst, PitchShiftParams(semitones))
    expected = 440.0 * 2 ** (semitones / 12)  # 523.3 Hz for +3
    assert abs(peak_frequency(out) - expected) < 0.01 * expected
    envelope = np.abs(scipy.signal.hilbert(out))
    start, end = np.flatnonzero(envelope > 0.5 * envelope.max())[[0, -1]]
    # a shift by resampling alone would make the 0.5 s burst 0.42-0.59 s long and move its centre as much
    assert abs((end - start) / SR - 0.5) < 0.03 and abs((start + end) / 2 / SR - 0.5) < 0.02


def test_pitch_shift_draws_both_ways_within_its_range():
    shifts = [PitchShift(max_semitones=2.0).draw(np.random.default_rng(seed)).semitones for seed in range(200)]
    assert max(np.abs(shifts)) <= 2.0 and min(shifts) < -1.5 and max(shifts) > 1.5


# Reverberation ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("room", range(SMALL_REVERB.rooms))
def test_reverb_keeps_the_level_and_adds_a_decaying_tail(room):
    burst = chirp(0.8, amplitude=0.1)
    burst[8000:] = 0.0  # 0.5 s of sound, then 0.3 s of silence
    out = SMALL_REVERB.apply_with(burst, ReverbParams(room))
    assert abs(np.sqrt(np.mean(out**2)) / np.sqrt(np.mean(burst**2)) - 1) < 0.1
    tail, sound = np.mean(out[8000 + 160:8000 + 3200] ** 2), np.mean(out[:8000] ** 2)
    assert db(tail / sound) > -30  # the dry input's tail is silent


@pytest.mark.parametrize("room", range(SMALL_REVERB.rooms))
def test_reverb_puts_the_direct_path_where_the_sound_was(room):
    click = np.zeros(8000, np.float32)
    click[3000] = 0.5
    out = np.abs(SMALL_REVERB.apply_with(click, ReverbParams(room)))
    assert out[3000] == out[2990:3011].max()  # the direct path, though a later reflection may be stronger
    # before it only the 81-tap delay filter and pyroomacoustics' zero-phase 10 Hz high-pass leak a little
    assert np.sum(out[:2960] ** 2) < 1e-3 * np.sum(out**2)


def test_the_room_bank_is_built_once_per_setting():
    assert SMALL_REVERB.bank() is Reverb(rooms=4, seed=1).bank()
    assert len(SMALL_REVERB.bank()) == 4
    assert not np.array_equal(SMALL_REVERB.bank()[0][0], Reverb(rooms=1, seed=2).bank()[0][0])


# Noise ------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["white", "pink", "brown", "babble"])
def test_noise_meets_the_drawn_snr(babble_files, kind):
    noise = Noise(kinds=(kind,), babble_files=babble_files, babble_clips=3, min_babble_seconds=1.0,
                  max_babble_seconds=2.0)
    quiet = tone(1.0, frequency=300.0) * 0.1  # noise at 0 dB stays well inside full scale
    for seed in range(5):
        params = noise.draw(np.random.default_rng(seed))
        assert params.kind == kind and 0.0 <= params.snr_db <= 20.0
        added = noise.apply_with(quiet, params).astype(np.float64) - quiet
        assert abs(db(np.mean(quiet.astype(np.float64) ** 2) / np.mean(added**2)) - params.snr_db) < 0.5


@pytest.mark.parametrize("kind, slope_db", [("white", 0.0), ("pink", 16.0), ("brown", 32.0)])
def test_coloured_noise_falls_as_one_over_f_to_the_beta(kind, slope_db):
    params = NoiseParams(kind, snr_db=0.0, seed=5)
    added = Noise(kinds=(kind,)).apply_with(np.full(4 * SR, 0.05, np.float32), params) - 0.05
    frequencies, power = scipy.signal.welch(added, fs=SR, nperseg=2048)
    low, high = power[(frequencies >= 100) & (frequencies <= 200)], power[(frequencies >= 5000) & (frequencies <= 7000)]
    assert abs(db(low.mean() / high.mean()) - slope_db) < 3.0  # density at ~150 Hz over ~6 kHz: 40**beta


def test_babble_is_a_mix_of_the_files_and_skips_one_that_fails(babble_files, tmp_path, caplog):
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"not audio at all")
    noise = Noise(kinds=("babble",), babble_files=(*babble_files, str(broken)), babble_clips=6,
                  min_babble_seconds=1.0, max_babble_seconds=1.5, min_talkers=6, max_talkers=6, seed=3)
    with caplog.at_level(logging.WARNING, logger="asr.augmentation"):
        bank = noise.babble_bank()
    assert "broken.wav: left out of the babble" in caplog.text
    assert len(bank) == 6 and all(SR <= clip.shape[0] <= 1.5 * SR for clip in bank)
    assert all(abs(np.sqrt(np.mean(clip.astype(np.float64) ** 2)) - 1) < 1e-3 for clip in bank)
    assert noise.babble_bank() is bank


def test_babble_with_no_loadable_file_says_so(tmp_path):
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"not audio at all")
    noise = Noise(kinds=("babble",), babble_files=(str(broken),), babble_clips=2)
    with pytest.raises(ValueError, match="none of the 1 babble files could be loaded"):
        noise.apply(chirp(0.2), np.random.default_rng(0))


def test_silence_stays_silent():
    out = Noise(kinds=("white",)).apply(np.zeros(1600, np.float32), np.random.default_rng(0))
    assert not out.any()


# Channel ----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("mu_law", [False, True])
@pytest.mark.parametrize("frequency, least_db, most_db", [
    (100.0, -np.inf, -20.0),  # below the band
    (1000.0, -1.0, 1.0),  # inside it
    (3800.0, -np.inf, -15.0),  # above 3.4 kHz, which 8 kHz sampling alone would keep
    (6000.0, -np.inf, -20.0),  # far above it
])
def test_the_telephone_band_keeps_speech_frequencies_only(mu_law, frequency, least_db, most_db):
    sound = tone(1.0, frequency=frequency)
    out = Channel().apply_with(sound, ChannelParams("telephone", mu_law=mu_law))
    level = db(np.mean(out[2000:-2000] ** 2) / np.mean(sound[2000:-2000] ** 2))  # away from the edges
    assert least_db < level < most_db
    if frequency == 1000.0:
        assert lag_of(out, sound, most=20) == 0


def test_mu_law_distorts_the_telephone_audio():
    sound = chirp(0.5)
    plain = Channel().apply_with(sound, ChannelParams("telephone", mu_law=False))
    coarse = Channel().apply_with(sound, ChannelParams("telephone", mu_law=True))
    assert 20 < db(np.mean(plain**2) / np.mean((coarse - plain) ** 2)) < 45  # 8-bit mu-law: about 35 dB


@pytest.mark.parametrize("kind, compression", [("opus", 0.9), ("opus", 1.0), ("mp3", 0.8), ("mp3", 0.95)])
def test_codecs_stay_aligned_and_degrade_the_audio(kind, compression):
    sound = chirp()
    out = Channel().apply_with(sound, ChannelParams(kind, compression=compression))
    assert abs(lag_of(out, sound)) <= 2  # mp3 at 0.95 decodes 1105 samples late before the correction
    snr = db(np.mean(sound**2) / np.mean((out - sound) ** 2))
    assert 0 < snr < 25


def test_opus_at_its_lowest_bitrate_drops_the_band_above_4khz():
    sound = chirp(noise=0.05)
    out = Channel().apply_with(sound, ChannelParams("opus", compression=1.0))
    frequencies, before = scipy.signal.welch(sound, fs=SR, nperseg=1024)
    after = scipy.signal.welch(out, fs=SR, nperseg=1024)[1]
    high = frequencies > 5000
    assert db(after[high].sum() / before[high].sum()) < -20


def test_channel_draws_compression_within_each_codecs_range():
    channel = Channel()
    draws = [channel.draw(np.random.default_rng(seed)) for seed in range(60)]
    assert {params.kind for params in draws} == {"telephone", "opus", "mp3"}
    for params in draws:
        if params.kind == "opus":
            assert 0.9 <= params.compression <= 1.0
        elif params.kind == "mp3":
            assert 0.8 <= params.compression <= 0.95
        else:
            assert params.compression is None
