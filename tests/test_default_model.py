"""The models shipped inside the package: load with no path, transcribe out of the box, stay small."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from asr.model_folder import default_model_path
from conftest import speak

MAX_BUNDLE_MB = 100  # a model, its exports and its language model together


@pytest.mark.parametrize("streaming", [False, True])
def test_the_bundled_models_are_small(streaming):
    folder = default_model_path(streaming=streaming)
    size = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
    assert 0 < size < MAX_BUNDLE_MB * 2**20


def test_it_loads_with_no_path_and_carries_a_tuned_language_model():
    import asr

    decoding = asr.load_model().folder.decoding
    assert decoding.kind == "lm" and Path(decoding.lm_path).is_file() and Path(decoding.unigrams).is_file()
    assert decoding.tuned_on, "alpha and beta were tuned on dev data"
    assert (decoding.alpha, decoding.beta, decoding.beam_width) == (0.8, 2.0, 128)  # as tuned (training/RESULTS.md)


@pytest.mark.slow
def test_asr_transcribe_works_with_no_set_up(tmp_path):
    wav = speak("the quick brown fox jumps over the lazy dog", tmp_path / "fox.wav")
    result = subprocess.run([sys.executable, "-m", "asr", "transcribe", str(wav), "--format", "json"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    transcript = json.loads(result.stdout)
    assert transcript["path"] == str(wav) and transcript["duration"] > 1.0
    assert transcript["text"] == " ".join(word["word"] for word in transcript["words"])


@pytest.mark.slow
@pytest.mark.corpus
def test_it_recognises_dev_speech_far_better_than_chance(corpus):
    import asr
    from asr.metrics import error_rates

    utterances = asr.read_manifest(corpus / "dev" / "cmu_arctic_cathy.jsonl").utterances[:20]
    transcripts = asr.load_model().transcribe_batch([u.audio_filepath for u in utterances], decoder="lm")
    rates = error_rates([u.text for u in utterances], [t.text for t in transcripts])
    assert rates.cer < 0.75  # an untrained model scores about 1.0


def test_the_streaming_model_starts_from_its_exports_with_a_tuned_language_model():
    import asr
    from asr.networks import KERAS_FILE, OnnxNetwork, file_sha256
    from asr.streaming_network import STREAMING_FILE, StreamingNetwork

    transcriber = asr.load_model(streaming=True)
    folder = default_model_path(streaming=True)
    assert transcriber.folder.path == folder and transcriber.folder.config["model"] == "streaming_gru"
    assert isinstance(transcriber.folder.network, OnnxNetwork)  # current export: no TensorFlow to start
    _, info = StreamingNetwork.load(folder / STREAMING_FILE)
    assert info["model_sha256"] == file_sha256(folder / KERAS_FILE)  # the arrays are model.keras' own
    decoding = transcriber.folder.decoding
    assert decoding.kind == "lm" and Path(decoding.lm_path).is_file() and decoding.tuned_on


@pytest.mark.slow
def test_asr_transcribe_streams_with_no_set_up(tmp_path):
    wav = speak("the quick brown fox jumps over the lazy dog", tmp_path / "fox.wav")
    result = subprocess.run([sys.executable, "-m", "asr", "transcribe", "--stream", str(wav), "--format", "json"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    finals = [line for line in map(json.loads, result.stdout.splitlines()) if line["type"] == "final"]
    assert finals, "the end of the input finalises the open segment"
    for final in finals:
        assert final["text"] == " ".join(word["word"] for word in final["words"])
        assert 0 <= final["start"] <= final["end"] <= 4.0


@pytest.mark.slow
@pytest.mark.corpus
def test_the_streaming_model_recognises_dev_speech_far_better_than_chance(corpus):
    import asr
    from asr.audio import load_audio
    from asr.metrics import error_rates
    from asr.streaming import transcribe_stream

    model = asr.load_model(streaming=True)
    utterances = asr.read_manifest(corpus / "dev" / "cmu_arctic_cathy.jsonl").utterances[:20]
    texts = [" ".join(segment.text for segment in transcribe_stream(model.stream(decoder="greedy"),
                                                                      load_audio(u.audio_filepath)))
             for u in utterances]
    rates = error_rates([u.text for u in utterances], texts)
    assert rates.cer < 0.75  # an untrained model scores about 1.0
