"""Streaming recognition end to end: a streaming model trained on synthetic speech, fed live."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from asr.audio import load_audio
from asr.decoders import build_decoder
from asr.features import compute_features
from asr.streaming import stream_chunks, transcribe_stream
from asr.transcriber import load_model
from conftest import speak, write_audio

PHRASES = ["hello world", "good morning", "thank you", "see you later"]
PAUSE_SECONDS = 0.8


@pytest.fixture(scope="module")
def streaming_model(tmp_path_factory):
    """A tiny streaming_gru trained on four phrases, and a file of them with pauses between: (folder, file).

    It knows its phrases alone; in the pauses it was never trained on it may
    say anything, so the tests below check what streaming guarantees for any
    model, not the words.
    """
    from asr.features import FeatureConfig
    from asr.manifest import Utterance, write_manifest
    from asr.training import TrainConfig, train

    folder = tmp_path_factory.mktemp("streaming")
    utterances, pieces = [], []
    silence = np.zeros(round(PAUSE_SECONDS * 16000), np.float32)
    for i, text in enumerate(PHRASES):
        path = speak(text, folder / f"{i}.wav")
        utterances += [Utterance(audio_filepath=path, duration=1.0, text=text)] * 8
        pieces += [silence, load_audio(path)]
    write_manifest(utterances, folder / "speech.jsonl")
    config = TrainConfig(train_manifests=(str(folder / "speech.jsonl"),), dev_manifests=(str(folder / "speech.jsonl"),),
                         output=str(folder / "run"), model="streaming_gru",
                         model_options={"filters": 48, "units": 96, "layers": 1, "dropout": 0.0},
                         features=FeatureConfig(kind="logmel"), epochs=40, max_batch=4, spec_augment=None,
                         cache_dir=str(folder / "cache"), patience=0, learning_rate=5e-3)
    output = train(config, verbose=0)
    samples = np.round(np.concatenate(pieces + [silence]) * 32767) / 32768  # exactly what 16-bit PCM carries
    return output, write_audio(folder / "phrases.wav", samples.astype(np.float32), 16000, subtype="PCM_16")


def _words(segments):
    return [(w.word, w.start, w.end) for s in segments for w in s.words]


@pytest.mark.slow
def test_the_model_says_its_phrases(streaming_model):
    folder, _ = streaming_model
    transcriber = load_model(folder)
    for i, text in enumerate(PHRASES):
        segments = transcribe_stream(transcriber.stream(), load_audio(folder.parent / f"{i}.wav"), chunk_seconds=0.1)
        assert " ".join(s.text for s in segments) == text


@pytest.mark.slow
@pytest.mark.parametrize("decoder, max_segment_seconds", [("greedy", 20.0), ("beam", 20.0), ("beam", 1.0)])
def test_random_chunks_finalise_the_words_of_feeding_the_file_at_once(streaming_model, rng, decoder,
                                                                        max_segment_seconds):
    # A 1-second limit cuts segments at their last pause, in frames an earlier chunk brought: decoded again.
    folder, path = streaming_model
    transcriber = load_model(folder)
    samples = load_audio(path)
    options = {"decoder": decoder, "max_segment_seconds": max_segment_seconds}
    offline = transcribe_stream(transcriber.stream(**options), samples, chunk_seconds=None)
    assert offline
    for _ in range(2):
        recognizer, finals = transcriber.stream(**options), []
        for chunk in stream_chunks(samples, chunk_samples=rng.integers(0, 4000, size=samples.size)):
            finals += recognizer.accept(chunk).finals
        finals += recognizer.finish().finals
        assert _words(finals) == _words(offline)
        np.testing.assert_allclose([w.confidence for s in finals for w in s.words],
                                   [w.confidence for s in offline for w in s.words], atol=1e-5)


@pytest.mark.slow
def test_greedy_finals_spell_the_whole_files_greedy_transcript_cut_only_in_pauses(streaming_model):
    folder, path = streaming_model
    transcriber = load_model(folder)
    samples = load_audio(path)
    segments = transcribe_stream(transcriber.stream(pause_ms=300), samples, chunk_seconds=0.1)
    whole_file = build_decoder("greedy").decode(transcriber.log_probs(samples), frame_seconds=0.02)
    assert len(segments) >= 2
    assert "".join(s.text for s in segments).replace(" ", "") == whole_file.text.replace(" ", "")
    times = [t for start_end in _words(segments) for t in start_end[1:]]
    assert times == sorted(times) and times[-1] <= samples.size / 16000


@pytest.mark.slow
def test_partial_words_come_before_their_segment_is_final(streaming_model):
    folder, path = streaming_model
    recognizer = load_model(folder).stream(decoder="greedy")
    partials, finals = [], []
    for chunk in stream_chunks(load_audio(path), chunk_samples=800):
        update = recognizer.accept(chunk)
        for segment in update.finals:
            assert any(p and segment.text.startswith(p) for p in partials), segment.text
            finals.append(segment)
            partials = []
        partials.append(update.partial)
    assert finals


@pytest.mark.slow
def test_the_beam_decoder_finalises_the_same_segments(streaming_model):
    folder, path = streaming_model
    transcriber = load_model(folder)
    samples = load_audio(path)
    greedy = transcribe_stream(transcriber.stream(decoder="greedy"), samples)
    beam = transcribe_stream(transcriber.stream(decoder="beam"), samples)
    assert [(s.start, s.end) for s in beam] == [(s.start, s.end) for s in greedy]


@pytest.mark.slow
def test_a_stream_refuses_bad_samples_and_feeding_after_the_end(streaming_model):
    folder, _ = streaming_model
    recognizer = load_model(folder).stream()
    with pytest.raises(ValueError, match="finite samples"):
        recognizer.accept(np.array([0.0, np.nan], np.float32))
    assert recognizer.accept(np.zeros(10, np.float32)).finals == ()  # the stream goes on after a bad chunk
    recognizer.finish()
    with pytest.raises(RuntimeError, match="finished"):
        recognizer.accept(np.zeros(10, np.float32))


def test_the_bundled_bidirectional_model_cannot_stream():
    from asr.errors import ModelError

    with pytest.raises(ModelError, match="cannot stream"):
        load_model().stream()


def _run_stream(folder, *args, stdin: bytes | None = None):
    command = [sys.executable, "-m", "asr", "transcribe", "--stream", "--model", str(folder), *args]
    return subprocess.run(command, input=stdin, capture_output=True, timeout=300)


def _final_texts(folder, path):
    return [s.text for s in transcribe_stream(load_model(folder).stream(), load_audio(path), chunk_seconds=None)]


@pytest.mark.slow
def test_cli_reads_raw_pcm_on_stdin_and_prints_json_lines(streaming_model):
    folder, path = streaming_model
    pcm = (load_audio(path) * 32768).astype("<i2").tobytes()
    result = _run_stream(folder, "-", "--format", "json", stdin=pcm + b"\x07")  # cut off mid-sample
    assert result.returncode == 0, result.stderr.decode()
    lines = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [line["text"] for line in lines if line["type"] == "final"] == _final_texts(folder, path)
    assert any(line["type"] == "partial" and line["text"] for line in lines)
    assert "ended mid-sample; its last 1 byte(s) were dropped" in result.stderr.decode()


@pytest.mark.slow
def test_cli_reads_a_wav_stream_and_plays_a_file_in_real_time(streaming_model, tmp_path):
    folder, path = streaming_model
    expected = _final_texts(folder, path)
    piped = _run_stream(folder, "-", stdin=path.read_bytes())
    assert piped.returncode == 0, piped.stderr.decode()
    finals = [line.split(": ", 1)[1] for line in piped.stdout.decode().splitlines() if line.startswith("final")]
    assert finals == expected

    played = _run_stream(folder, str(path), "--realtime", "--chunk-ms", "250")
    assert played.returncode == 0, played.stderr.decode()
    assert [line.split(": ", 1)[1] for line in played.stdout.decode().splitlines() if line.startswith("final")] \
        == expected


@pytest.mark.parametrize("args, stdin, problem", [
    (["-", "--realtime"], b"", "--realtime plays a file"),
    (["a.wav", "b.wav"], None, "--stream takes one input"),
    (["-", "--format", "srt"], None, "--stream takes one input"),
])
def test_cli_refuses_what_a_stream_cannot_do(args, stdin, problem, tmp_path):
    result = _run_stream(tmp_path, *args, stdin=stdin)
    assert result.returncode == 2 and problem in result.stderr.decode()


@pytest.mark.slow
def test_cli_names_a_broken_wav_stream_and_fails(streaming_model):
    folder, _ = streaming_model
    result = _run_stream(folder, "-", stdin=b"RIFF\x00\x00\x00\x00WAVEdata\x00\x00\x00\x00")
    assert result.returncode == 1 and "-: the WAV stream has no 'fmt ' chunk" in result.stderr.decode()
