"""Synthetic speech: espeak-ng and flite clips at 16 kHz, a manifest that reads back, exclusion and resuming."""

from __future__ import annotations

import json
import shutil

import pytest
import soundfile

from asr import Utterance, read_manifest, write_manifest
from asr.synthesis import SynthesisConfig, SynthesisError, read_exclude_sentences, synthesize_corpus
from conftest import tone, write_audio

SENTENCES = ["The quick brown fox jumps over the lazy dog.", "", "It's 5 o'clock!", "  ?!  ",
             "Keep this one out of training.", "Birds sing at dawn."]


def _engine(name: str) -> str:
    """Skip the test unless the engine is installed."""
    if shutil.which(name) is None:
        pytest.skip(f"{name} is not installed (apt-get install {name})")
    return name


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "sentences.txt"
    path.write_text("\n".join(SENTENCES) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("engine, voices", [("espeak-ng", ("en-us", "en-gb+f3")), ("flite", ("slt", "kal16"))])
def test_an_engine_speaks_16khz_clips_that_read_back(tmp_path, text_file, engine, voices):
    _engine(engine)
    config = SynthesisConfig(engines=(engine,), voices={engine: voices}, rates=(0.9, 1.2), pitches=(1.0, 1.1),
                             exclude=frozenset({"KEEP this one out of training"}), max_sentences=3)
    result = synthesize_corpus(text_file, tmp_path / "out", config=config)
    assert [u.text for u in result.utterances] == ["the quick brown fox jumps over the lazy dog",
                                                   "it's five o'clock", "birds sing at dawn"]
    assert (result.synthesised, result.reused, result.excluded, result.empty) == (3, 0, 1, 1)
    for utterance in result.utterances:
        info = soundfile.info(str(utterance.audio_filepath))
        assert (info.samplerate, info.channels) == (16_000, 1) and info.frames > 0
        assert utterance.duration == pytest.approx(info.frames / 16_000)
        assert utterance.extra["engine"] == engine and utterance.extra["voice"] in voices
        assert utterance.extra["rate"] in config.rates and utterance.extra["pitch"] in config.pitches
    manifest = read_manifest(tmp_path / "out" / "manifest.jsonl", strict=True)
    assert [(u.audio_filepath, u.text) for u in manifest] == [(u.audio_filepath, u.text) for u in result.utterances]
    assert [u.duration for u in manifest] == pytest.approx([u.duration for u in result.utterances], abs=1e-4)
    assert manifest[0].extra["source"] == "synthetic"


def test_a_rerun_reuses_the_clips_already_made(tmp_path, text_file):
    _engine("espeak-ng")
    config = SynthesisConfig(engines=("espeak-ng",), voices={"espeak-ng": ("en-us",)}, variants=2)
    first = synthesize_corpus(text_file, tmp_path / "out", config=config)
    assert first.synthesised == 8 and first.reused == 0  # 4 sentences x 2 renderings
    made = {u.audio_filepath: u.audio_filepath.stat().st_mtime_ns for u in first.utterances}
    second = synthesize_corpus(text_file, tmp_path / "out", config=config)
    assert (second.synthesised, second.reused) == (0, 8)
    assert second.utterances == first.utterances
    assert {u.audio_filepath: u.audio_filepath.stat().st_mtime_ns for u in second.utterances} == made
    assert len({(u.extra["rate"], u.extra["pitch"]) for u in second.utterances if u.text == "birds sing at dawn"}) == 2


def test_excluded_sentences_from_manifests_are_never_spoken(tmp_path, text_file):
    _engine("flite")
    clip = write_audio(tmp_path / "dev.wav", tone(0.5), 16_000)
    dev = tmp_path / "dev.jsonl"
    write_manifest([Utterance(audio_filepath=clip, duration=0.5, text="birds sing at dawn"),
                    Utterance(audio_filepath=clip, duration=0.5, text="its five oclock")], dev)
    exclude = read_exclude_sentences([dev])
    assert exclude == {"birds sing at dawn", "its five oclock"}
    exclude |= {"Keep this ONE out of training!"}  # compared after normalising
    config = SynthesisConfig(engines=("flite",), voices={"flite": ("slt",)}, exclude=exclude)
    result = synthesize_corpus(text_file, tmp_path / "out", config=config)
    texts = [u.text for u in result.utterances]
    assert texts == ["the quick brown fox jumps over the lazy dog", "it's five o'clock"]
    assert result.excluded == 2
    assert len(list((tmp_path / "out" / "wavs").glob("*.wav"))) == 2
    spoken = [json.loads(line)["text"] for line in result.manifest.read_text().splitlines()]
    assert "birds sing at dawn" not in spoken and "keep this one out of training" not in spoken


def test_a_missing_engine_or_voice_or_text_file_is_a_clear_error(tmp_path, text_file, monkeypatch):
    with pytest.raises(SynthesisError, match="cannot read the sentences"):
        synthesize_corpus(tmp_path / "none.txt", tmp_path / "out", config=SynthesisConfig(engines=("flite",)))
    if shutil.which("flite"):
        with pytest.raises(SynthesisError, match=r"flite has no voice\(s\) \['nobody'\]"):
            synthesize_corpus(text_file, tmp_path / "out", config=SynthesisConfig(engines=("flite",),
                                                                                  voices={"flite": ("nobody",)}))
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(SynthesisError, match=r"espeak-ng is not installed \(apt-get install espeak-ng\)"):
        synthesize_corpus(text_file, tmp_path / "out", config=SynthesisConfig(engines=("espeak-ng",)))


@pytest.mark.parametrize("options, message", [
    ({"engines": ("festival",)}, "engines must be some of"),
    ({"engines": ("flite",), "voices": {"espeak-ng": ("en-us",)}}, "no voices given"),
    ({"rates": (1.0, 0.0)}, "rates must be positive"),
    ({"pitches": ()}, "pitches must be positive"),
    ({"variants": 0}, "variants must be at least 1"),
    ({"max_sentences": 0}, "max_sentences must be at least 1"),
])
def test_a_bad_config_is_refused(options, message):
    with pytest.raises(ValueError, match=message):
        SynthesisConfig(**options)


def test_the_config_normalises_its_exclude_set_and_drops_repeats():
    config = SynthesisConfig(exclude={"Hello, World!", " ?! "}, rates=[1, 1.0, 1.2])
    assert config.exclude == frozenset({"hello world"}) and config.rates == (1.0, 1.2)
