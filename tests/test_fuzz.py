"""Fuzzing the boundaries: audio files of random and damaged bytes, manifests of random lines, decoders on
random and extreme score matrices. Nothing may crash except with the documented exceptions, and nothing may hang."""

from __future__ import annotations

import faulthandler
import json
import math
import re
import signal
import struct
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from asr import AudioError, ManifestError, Utterance, load_audio, read_manifest, write_manifest
from asr.audio import audio_duration
from asr.constants import MIN_AUDIO_SECONDS, SAMPLE_RATE
from asr.decoders import build_decoder, greedy_decode
from asr.lm import LmConfig, build_language_model, kenlm_available
from asr.text import normalize_text
from conftest import BLANK, CLASSES, LABELS, check_words, log_softmax, tone, write_audio

FRAME_SECONDS = 0.02  # a stride-2 model on 10 ms features
CALL_SECONDS = 20.0  # s: a single load or decode running longer than this is a hang (a loaded 2-core machine)
# No hypothesis deadline: timing on a shared machine is not a property; time_limit (CALL_SECONDS) catches hangs.
# derandomize: the same examples on every run, so that CI cannot fail on a draw no one can replay.
FILE_FUZZ = settings(max_examples=60, deadline=None, derandomize=True,  # audio files and manifests
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
DECODER_FUZZ = settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])

NORMALISED = re.compile(r"[a-z']+( [a-z']+)*")  # non-empty normalised text: words of the alphabet, single spaces


@contextmanager
def time_limit(seconds: float = CALL_SECONDS):
    """Fail a call that runs past ``seconds``: TimeoutError from Python code, a traceback and exit from C code."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def fail(signum, frame):
        raise TimeoutError(f"still running after {seconds} s: a hang")

    previous = signal.signal(signal.SIGALRM, fail)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    faulthandler.dump_traceback_later(3 * seconds, exit=True)  # a hang inside libsndfile never returns to Python
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """One scratch folder for the module; each test overwrites its own file in it."""
    return tmp_path_factory.mktemp("fuzz")


# Audio files.

AUDIO_SUFFIXES = [".wav", ".flac", ".ogg", ".mp3", ".opus"]
MAGIC = [b"", b"RIFF", b"RIFF\xff\xff\xff\xffWAVE", b"fLaC", b"OggS", b"ID3\x03\x00", b"\xff\xfb\x90\x00", b"FORM"]
KSDATAFORMAT_SUFFIX = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"  # WAVE_FORMAT_EXTENSIBLE GUID tail


def check_loads_or_refuses(path: Path) -> None:
    """load_audio gives finite 16 kHz mono float32 or AudioError naming the file; audio_duration agrees."""
    with time_limit():
        try:
            samples = load_audio(path)
        except AudioError as error:
            assert error.source == str(path) and str(error).startswith(f"{path}: "), error
            samples = None
        try:
            duration = audio_duration(path)
        except AudioError as error:
            assert error.source == str(path) and str(error).startswith(f"{path}: "), error
            assert samples is None, "load_audio read a file whose header audio_duration refuses"
            return
    assert math.isfinite(duration) and duration >= 0
    if samples is not None:
        assert samples.dtype == np.float32 and samples.ndim == 1
        assert np.isfinite(samples).all()
        assert MIN_AUDIO_SECONDS * SAMPLE_RATE <= samples.size <= math.ceil(duration * SAMPLE_RATE) + 1


@st.composite
def riff_files(draw) -> bytes:
    """A RIFF/WAVE file whose header fields are random (or nearly right), then random bytes as its samples."""
    tag = draw(st.sampled_from([1, 3, 6, 7, 0xFFFE]) | st.integers(0, 0xFFFF))  # PCM, float, A-law, mu-law, ext.
    channels = draw(st.integers(0, 300))
    rate = draw(st.sampled_from([0, 1, 8, 999, 8000, 16000, 44100, 384000, 384001, 2**31 - 1, 2**32 - 1])
                | st.integers(0, 2**32 - 1))
    bits = draw(st.sampled_from([0, 1, 8, 12, 16, 24, 32, 64]) | st.integers(0, 0xFFFF))
    align = draw(st.just(channels * ((bits + 7) // 8) & 0xFFFF) | st.integers(0, 0xFFFF))
    byte_rate = draw(st.just(rate * align & 0xFFFFFFFF) | st.integers(0, 2**32 - 1))
    fmt = struct.pack("<HHIIHH", tag, channels, rate, byte_rate, align, bits)
    if tag == 0xFFFE:
        subformat = draw(st.sampled_from([1, 3]) | st.integers(0, 0xFFFF))
        fmt += struct.pack("<HHIH", 22, draw(st.integers(0, 0xFFFF)), draw(st.integers(0, 2**32 - 1)), subformat)
        fmt += KSDATAFORMAT_SUFFIX
    payload = draw(st.binary(max_size=4096))
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt
    if draw(st.booleans()):  # another chunk between fmt and data, its size maybe a lie
        extra = draw(st.binary(max_size=64))
        size = draw(st.just(len(extra)) | st.integers(0, 2**32 - 1))
        chunk_id = draw(st.sampled_from([b"LIST", b"fact", b"JUNK", b"data", b"fmt "]))
        chunks += chunk_id + struct.pack("<I", size) + extra
    data_size = draw(st.sampled_from([len(payload), len(payload) // 2, 0, 2**31, 2**32 - 1])
                     | st.integers(0, 2**32 - 1))  # the data chunk's size, larger or smaller than the data
    body = b"WAVE" + chunks + b"data" + struct.pack("<I", data_size) + payload
    riff_size = draw(st.sampled_from([len(body), 0, 2**32 - 1]) | st.integers(0, 2**32 - 1))
    return b"RIFF" + struct.pack("<I", riff_size) + body


ENCODED = [  # suffix, libsndfile format, subtype, rate, channels
    (".wav", "WAV", "PCM_16", 16000, 1),
    (".wav", "WAV", "FLOAT", 22050, 2),
    (".flac", "FLAC", "PCM_24", 8000, 1),
    (".ogg", "OGG", "VORBIS", 44100, 2),
    (".opus", "OGG", "OPUS", 48000, 1),
    (".mp3", "MP3", "MPEG_LAYER_III", 16000, 1),
]


@pytest.fixture(scope="module")
def encoded(folder) -> list[tuple[str, bytes]]:
    """A short tone in each format, as (suffix, file bytes), to be damaged."""
    files = []
    for number, (suffix, container, subtype, rate, channels) in enumerate(ENCODED):
        path = write_audio(folder / f"valid{number}{suffix}", tone(0.25, sr=rate, channels=channels), rate,
                           format=container, subtype=subtype)
        files.append((suffix, path.read_bytes()))
    return files


def damaged(data, original: bytes) -> bytes:
    """The bytes of a good file cut short, overwritten, bit-flipped, or with bytes inserted or deleted."""
    damage = bytearray(original)
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        kind = data.draw(st.sampled_from(["cut", "overwrite", "flip", "insert", "delete"]), label="kind")
        at = data.draw(st.integers(0, max(0, len(damage) - 1)), label="position")
        if kind == "cut":
            del damage[at:]
        elif kind == "overwrite":
            chunk = data.draw(st.binary(min_size=1, max_size=16), label="bytes")
            damage[at:at + len(chunk)] = chunk
        elif kind == "flip" and damage:
            damage[at] ^= 1 << data.draw(st.integers(0, 7), label="bit")
        elif kind == "insert":
            damage[at:at] = data.draw(st.binary(min_size=1, max_size=64), label="bytes")
        elif kind == "delete":
            del damage[at:at + data.draw(st.integers(1, 64), label="length")]
    return bytes(damage)


@FILE_FUZZ
@given(suffix=st.sampled_from(AUDIO_SUFFIXES), magic=st.sampled_from(MAGIC), noise=st.binary(max_size=4096))
def test_random_bytes_load_as_audio_or_raise_audio_error(folder, suffix, magic, noise):
    path = folder / f"random bytes ü{suffix}"
    path.write_bytes(magic + noise)
    check_loads_or_refuses(path)


@FILE_FUZZ
@given(data=riff_files())
def test_wav_headers_with_random_fields_load_or_raise_audio_error(folder, data):
    path = folder / "random header.wav"
    path.write_bytes(data)
    check_loads_or_refuses(path)


@FILE_FUZZ
@given(data=st.data())
def test_damaged_files_of_every_format_load_or_raise_audio_error(folder, encoded, data):
    suffix, original = data.draw(st.sampled_from(encoded), label="file")
    path = folder / f"damaged{suffix}"
    path.write_bytes(damaged(data, original))
    check_loads_or_refuses(path)


@pytest.mark.parametrize("rate", [1, 8, 999, 384001, 2**31 - 1])
def test_absurd_sample_rates_are_refused_before_decoding(folder, rate):
    # At 1 Hz a second of 16 kHz audio is 16000 source samples; upsampled it would be 256 million.
    path = folder / f"rate {rate}.wav"
    write_audio(path, np.zeros((16000, 1), dtype=np.float32), 16000)
    data = bytearray(path.read_bytes())
    data[24:28] = struct.pack("<I", rate)  # the fmt chunk's sample rate
    path.write_bytes(bytes(data))
    for read in (load_audio, audio_duration):
        with time_limit(), pytest.raises(AudioError, match="sample rate"):
            read(path)


def test_float_samples_near_the_float32_limit_are_refused_not_overflowed(folder):
    path = write_audio(folder / "loud.wav", np.full((8000, 2), 3e38, dtype=np.float32), 22050, subtype="FLOAT")
    with pytest.raises(AudioError, match="as large as 3e"):
        load_audio(path)


def test_more_than_64_channels_are_refused(folder):
    path = write_audio(folder / "many channels.wav", tone(0.1, channels=65), 16000)
    for read in (load_audio, audio_duration):
        with pytest.raises(AudioError, match="65 channels"):
            read(path)


def test_a_header_claiming_days_of_audio_allocates_only_what_is_there(folder):
    path = write_audio(folder / "short.flac", tone(0.5), 16000)
    data = bytearray(path.read_bytes())
    assert data[:4] == b"fLaC"
    info = int.from_bytes(data[18:26], "big")  # STREAMINFO: rate (20 bits), channels, bits, total samples (36 bits)
    data[18:26] = (info | (2**36 - 1)).to_bytes(8, "big")  # 2**36 samples: 49 days, 256 GiB as float32
    path.write_bytes(bytes(data))
    with time_limit():
        try:
            samples = load_audio(path)
        except AudioError as error:
            assert str(error).startswith(f"{path}: ")
        else:
            assert samples.size == 8000


# Manifests.

LINE_BREAKS = ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1e"]  # not newlines to a JSON-lines reader
texts = st.text(st.characters(codec="utf-8", exclude_characters="\r\n") | st.sampled_from(LINE_BREAKS), max_size=40)
json_texts = texts | st.sampled_from(["\ud800", "a\udcff.wav", "\x00"])  # only a JSON escape can write these
numbers = (st.integers() | st.integers(min_value=10**300, max_value=10**400) | st.floats()
           | st.sampled_from([0, -0.0, 1e-320, 5e-324, 1.7976931348623157e308]))
json_values = st.recursive(st.none() | st.booleans() | numbers | json_texts,
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(json_texts, inner, max_size=3),
                           max_leaves=6)
spoken = st.from_regex(r"[A-Za-z0-9 '.,$%&!?éü-]{1,30}", fullmatch=True)  # text that often normalises to words
huge_numerals = st.from_regex(r"\d{16,400}(st|nd|rd|th)?|\$\d{1,60}(\.\d{1,60})?|\d{1,5}\.\d{200,300}", fullmatch=True)
audio_paths = (st.just("a.wav") | json_texts | st.from_regex(r"(\.\./){0,40}[a-z]{1,5}(\.wav)?", fullmatch=True)
               | st.sampled_from(["", "/", "..", "/a.wav", "a\x00b.wav", "x" * 300, "y/" * 3000, "\\a.wav", "~/a.wav"]))


def _line(record) -> str:
    """A JSON value as one manifest line, non-ASCII as it is unless it holds lone surrogates."""
    line = json.dumps(record, ensure_ascii=False)
    return line if not re.search("[\ud800-\udfff]", line) else json.dumps(record)


def _bad_json_lines() -> st.SearchStrategy[str]:
    """Lines Python's JSON reader chokes on in ways other than JSONDecodeError."""
    deep = st.integers(10, 100_000).map(lambda n: "[" * n + "]" * n)
    deep_field = st.integers(500, 5_000).map(lambda n: '{"audio_filepath": ' + "[" * n + "]" * n
                                                       + ', "duration": 1, "text": "a"}')
    long_integer = st.integers(4301, 20_000).map(lambda n: '{"audio_filepath": "a.wav", "duration": '
                                                           + "7" * n + ', "text": "seven"}')
    return deep | deep_field | long_integer


utterance_records = st.fixed_dictionaries(
    {"audio_filepath": audio_paths | json_values, "duration": numbers | json_values,
     "text": spoken | huge_numerals | texts | json_values},
    optional={"speaker": json_values, "source": json_values})
good_records = st.fixed_dictionaries({"audio_filepath": st.just("a.wav"),
                                      "duration": st.floats(0.02, 1e5), "text": st.sampled_from(["hello", "a b"])})
manifest_lines = st.lists(
    st.tuples(st.just(True), good_records.map(_line))
    | st.tuples(st.just(False), texts | json_values.map(_line) | utterance_records.map(_line) | _bad_json_lines()),
    max_size=8)


def _lines_as_read(content: str) -> list[str]:
    """The lines of a JSON-lines file: split at newlines (any convention), nothing else."""
    return content.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def check_manifest(manifest, path: Path, content: str) -> None:
    """Usable utterances and one problem per other non-blank line, each naming file and line."""
    lines = _lines_as_read(content)
    filled = [number for number, line in enumerate(lines, start=1) if line.strip()]
    assert len(manifest.utterances) + len(manifest.problems) == len(filled)
    for utterance in manifest.utterances:
        assert isinstance(utterance.duration, float) and math.isfinite(utterance.duration) and utterance.duration > 0
        assert NORMALISED.fullmatch(utterance.text), utterance.text
        assert normalize_text(utterance.text) == utterance.text
        assert utterance.audio_filepath.is_absolute()
    problem_lines = [problem.line for problem in manifest.problems]
    assert problem_lines == sorted(set(problem_lines)) and set(problem_lines) <= set(filled)
    for problem in manifest.problems:
        assert isinstance(problem, ManifestError) and problem.path == str(path)
        assert str(problem).startswith(f"{path}:{problem.line}: ")


@FILE_FUZZ
@given(lines=manifest_lines)
def test_random_lines_give_clean_utterances_and_one_problem_per_bad_line(folder, lines):
    path = folder / "random lines.jsonl"
    content = "\n".join(line for _, line in lines)
    path.write_bytes(content.encode("utf-8"))
    with time_limit():
        manifest = read_manifest(path, check_audio=False)
    check_manifest(manifest, path, content)
    known_good = [number for number, (good, _) in enumerate(lines, start=1) if good]
    assert not set(known_good) & {problem.line for problem in manifest.problems}
    with time_limit():
        if manifest.problems:
            with pytest.raises(ManifestError) as caught:
                read_manifest(path, strict=True, check_audio=False)
            assert caught.value.line == manifest.problems[0].line
        else:
            assert read_manifest(path, strict=True, check_audio=False) == manifest


@FILE_FUZZ
@given(paths=st.lists(audio_paths, min_size=1, max_size=6))
def test_random_audio_paths_are_checked_without_crashing(folder, paths):
    clip = folder / "audio" / "a.wav"
    if not clip.exists():
        clip.parent.mkdir(exist_ok=True)
        write_audio(clip, tone(0.1), 16000)
    path = folder / "audio" / "paths.jsonl"
    content = "\n".join(_line({"audio_filepath": value, "duration": 1.0, "text": "a"}) for value in paths)
    path.write_text(content, encoding="utf-8")
    with time_limit():
        manifest = read_manifest(path, check_audio=True)
    check_manifest(manifest, path, content)
    assert all(utterance.audio_filepath.is_file() for utterance in manifest)
    assert len(manifest) >= paths.count("a.wav")  # "../audio/a.wav" and the like may name it too


def _not_utf8(data: bytes) -> bool:
    """Whether the bytes are not valid UTF-8."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


@FILE_FUZZ
@given(good=st.lists(good_records.map(_line), max_size=3), noise=st.binary(min_size=1, max_size=64).filter(_not_utf8))
def test_bytes_that_are_not_utf8_make_the_whole_manifest_unreadable(folder, good, noise):
    path = folder / "not utf8.jsonl"
    path.write_bytes("\n".join(good).encode("utf-8") + b"\n" + noise + b"\n")
    for strict in (False, True):
        with pytest.raises(ManifestError, match="cannot read manifest") as caught:
            read_manifest(path, strict=strict, check_audio=False)
        assert not caught.value.line and caught.value.path == str(path)


extras = st.dictionaries(texts.filter(lambda key: key not in ("audio_filepath", "duration", "text")),
                         st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts,
                                      lambda inner: st.lists(inner, max_size=3), max_leaves=4),
                         max_size=3)


file_names = st.from_regex(r"[a-z0-9_]{1,8}\.wav", fullmatch=True)
normalised_texts = st.from_regex(r"[a-z]+('[a-z]+)?( [a-z]+('[a-z]+)?)*", fullmatch=True)


@FILE_FUZZ
@given(rows=st.lists(st.tuples(file_names, st.floats(0.02, 1e5), normalised_texts, extras), max_size=5))
def test_written_manifests_read_back_the_same_whatever_the_extra_keys_hold(folder, rows):
    utterances = [Utterance(audio_filepath=folder / name, duration=duration, text=text, extra=extra)
                  for name, duration, text, extra in rows]
    path = folder / "round trip.jsonl"
    write_manifest(utterances, path)
    manifest = read_manifest(path, strict=True, check_audio=False)
    assert [(u.audio_filepath, u.text, u.extra) for u in manifest] == [
        (u.audio_filepath.resolve(), u.text, u.extra) for u in utterances]
    assert [u.duration for u in manifest] == pytest.approx([u.duration for u in utterances], abs=5e-5)


# Decoders.

KINDS = ["greedy", "beam", "beam_tf"]
ROW_KINDS = ["random", "one_hot", "one_hot_finite", "equal", "some_minus_inf", "huge", "near_tie"]


@pytest.fixture(scope="module")
def decoders():
    """One decoder of each kind without a language model, small beams, warmed up once."""
    built = {kind: build_decoder(kind, beam_width=8) for kind in KINDS}
    for decoder in built.values():
        decoder.decode(np.zeros((2, CLASSES)), frame_seconds=FRAME_SECONDS)
    return built


def _row(kind: str, rng: np.random.Generator) -> np.ndarray:
    """One frame of scores of the given kind, before any normalising."""
    best = rng.integers(CLASSES)
    row = rng.normal(size=CLASSES) * rng.choice([0.01, 3.0, 30.0])
    if kind == "one_hot":
        row = np.full(CLASSES, -np.inf)
        row[best] = 0.0
    elif kind == "one_hot_finite":
        row = np.full(CLASSES, -1e30)
        row[best] = 0.0
    elif kind == "equal":
        row = np.full(CLASSES, rng.choice([0.0, -1e30, 1e30, -np.log(CLASSES)]))
    elif kind == "some_minus_inf":
        row[rng.random(CLASSES) < 0.7] = -np.inf
        row[best] = max(row[best], 0.0)
    elif kind == "huge":
        row = rng.uniform(-1e30, 1e30, size=CLASSES)
    elif kind == "near_tie":
        row[rng.integers(CLASSES)] = row[best] = row.max() + 1.0
        row[best] += 1e-9
    return row


@st.composite
def score_matrices(draw) -> np.ndarray:
    """(frames, 29) scores, frames in [0, 200]: log-probabilities or logits, extreme rows mixed in, float32 or 64."""
    frames = draw(st.integers(0, 200))
    kinds = draw(st.lists(st.sampled_from(ROW_KINDS), min_size=frames, max_size=frames))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scores = np.array([_row(kind, rng) for kind in kinds]).reshape(len(kinds), CLASSES)
    if draw(st.booleans()):
        with np.errstate(invalid="ignore", over="ignore"):
            scores = np.where(np.isfinite(scores).any(axis=1, keepdims=True), log_softmax(scores), scores)
    return scores.astype(draw(st.sampled_from([np.float32, np.float64])))


def check_hypothesis(hypothesis, frames: int) -> None:
    """Text of words over the alphabet, single spaces; timings ordered inside the audio; confidences in [0, 1]."""
    assert hypothesis.text == "" or NORMALISED.fullmatch(hypothesis.text), hypothesis.text
    assert math.isfinite(hypothesis.score)
    check_words(hypothesis, frames, FRAME_SECONDS)


@pytest.mark.parametrize("kind", KINDS)
@DECODER_FUZZ
@given(scores=score_matrices())
def test_every_decoder_gives_well_formed_hypotheses_on_extreme_scores(decoders, kind, scores):
    with time_limit():
        for hypothesis in decoders[kind].decode_nbest(scores, frame_seconds=FRAME_SECONDS, n=3):
            check_hypothesis(hypothesis, len(scores))


@settings(DECODER_FUZZ, max_examples=60)
@given(scores=score_matrices())
def test_greedy_text_is_the_argmax_path_with_repeats_merged_and_blanks_dropped(decoders, scores):
    best = scores.argmax(axis=1)
    kept = [c for t, c in enumerate(best) if c != BLANK and (t == 0 or c != best[t - 1])]
    expected = " ".join("".join(LABELS[c] for c in kept).split())
    assert decoders["greedy"].decode(scores, frame_seconds=FRAME_SECONDS).text == expected == greedy_decode(scores)


wrong_shapes = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=31).filter(
    lambda shape: len(shape) != 2 or shape[1] != CLASSES)


@pytest.mark.parametrize("kind", KINDS)
@DECODER_FUZZ
@given(shape=wrong_shapes, dtype=st.sampled_from([np.float32, np.float64, np.int16]))
def test_scores_of_the_wrong_shape_raise_value_error_naming_the_shape(decoders, kind, shape, dtype):
    with pytest.raises(ValueError, match=re.escape(f"shape (frames, {CLASSES})")):
        decoders[kind].decode(np.zeros(shape, dtype=dtype), frame_seconds=FRAME_SECONDS)


@pytest.mark.parametrize("kind", KINDS)
@DECODER_FUZZ
@given(scores=score_matrices(), bad=st.sampled_from([np.nan, np.inf]), data=st.data())
def test_nan_or_plus_inf_anywhere_raises_value_error(decoders, kind, scores, bad, data):
    assume(len(scores) > 0)
    frame = data.draw(st.integers(0, len(scores) - 1), label="frame")
    scores[frame, data.draw(st.integers(0, CLASSES - 1), label="class")] = bad
    with pytest.raises(ValueError, match="finite"):
        decoders[kind].decode(scores, frame_seconds=FRAME_SECONDS)


# The LM decoder, on a tiny model.

LM_TEXT = "the cat sat on the mat\nthe dog sat on the log\na cat and a dog\n"


@pytest.fixture(scope="module")
def lm_decoder(tmp_path_factory):
    """An LM decoder over a trigram model of three sentences, small beam."""
    if not kenlm_available():
        pytest.skip("KenLM's lmplz and build_binary not found (run scripts/build_kenlm.sh, or set ASR_KENLM_BIN)")
    text = tmp_path_factory.mktemp("lm text") / "corpus.txt"
    text.write_text(LM_TEXT, encoding="utf-8")
    config = LmConfig(order=3, discount_fallback=True, memory="64M")  # tiny corpora need fixed discounts
    files = build_language_model([text], tmp_path_factory.mktemp("lm"), config=config)
    return build_decoder("lm", lm_path=files.binary.parent, beam_width=8)


@settings(DECODER_FUZZ, max_examples=15)
@given(scores=score_matrices())
def test_lm_decoder_gives_well_formed_hypotheses_on_extreme_scores(lm_decoder, scores):
    with time_limit():
        for hypothesis in lm_decoder.decode_nbest(scores, frame_seconds=FRAME_SECONDS, n=3):
            check_hypothesis(hypothesis, len(scores))
