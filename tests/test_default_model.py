"""The model shipped inside the package: loads with no path, transcribes out of the box, stays small."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from asr.model_folder import default_model_path
from conftest import speak

MAX_BUNDLE_MB = 100  # the model and its language model together


def test_the_bundled_model_is_small():
    folder = default_model_path()
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
    import json

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
