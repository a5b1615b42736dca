"""Synthetic speech: espeak-ng, flite and festival clips at 16 kHz, a manifest that reads back, exclusion,
resuming, the hour limit and a draw that is fair across voices."""

from __future__ import annotations

import collections
import json
import shutil
import subprocess

import librosa
import numpy as np
import pytest
import soundfile

from asr import Utterance, read_manifest, write_manifest
from asr import synthesis
from asr.synthesis import (DEFAULT_VOICES, PACKAGES, PROGRAMS, VOICE_PACKAGES, SynthesisConfig, SynthesisError,
                           read_exclude_sentences, synthesize_corpus)
from conftest import tone, write_audio

SENTENCES = ["The quick brown fox jumps over the lazy dog.", "", "It's 5 o'clock!", "  ?!  ",
             "Keep this one out of training.", "Birds sing at dawn."]


def _engine(name: str) -> str:
    """Skip the test unless the engine is installed, and for festival its default voices too."""
    if shutil.which(PROGRAMS[name]) is None:
        pytest.skip(f"{name} is not installed (apt-get install {PACKAGES[name]})")
    if name == "festival":
        listed = subprocess.run(["festival", "-b", "(print (voice.list))"], capture_output=True, text=True).stdout
        missing = [VOICE_PACKAGES[name][voice] for voice in DEFAULT_VOICES[name] if voice not in listed]
        if missing:
            pytest.skip(f"festival voices are not installed (apt-get install {' '.join(missing)})")
    return name


def _median_f0(path) -> float:
    """The median f0 of a clip's voiced frames in Hz, by pYIN over 60-400 Hz."""
    samples, rate = soundfile.read(str(path))
    f0, voiced, _ = librosa.pyin(samples, fmin=60, fmax=400, sr=rate)
    return float(np.median(f0[voiced]))


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "sentences.txt"
    path.write_text("\n".join(SENTENCES) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("engine, voices", [("espeak-ng", ("en-us", "en-gb+f3")), ("flite", ("slt", "kal16")),
                                            ("festival", ("kal_diphone", "cmu_us_slt_arctic_hts"))])
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


def test_festival_changes_rate_and_pitch_where_the_voice_allows(tmp_path, text_file):
    _engine("festival")
    config = SynthesisConfig(engines=("festival",), voices={"festival": ("ked_diphone",)}, rates=(0.8, 1.25),
                             pitches=(0.8, 1.25), variants=4, max_sentences=1)
    clips = {(u.extra["rate"], u.extra["pitch"]): u for u in synthesize_corpus(text_file, tmp_path / "out",
                                                                             config=config).utterances}
    slow, fast = clips[0.8, 1.25].duration, clips[1.25, 1.25].duration
    assert slow / fast == pytest.approx(1.25 / 0.8, rel=0.1)
    low, high = (_median_f0(clips[1.25, 0.8].audio_filepath), _median_f0(clips[1.25, 1.25].audio_filepath))
    assert high / low == pytest.approx(1.25 / 0.8, rel=0.15)


def test_a_voice_without_pitch_control_is_only_drawn_at_pitch_one(tmp_path, text_file):
    _engine("festival")
    config = SynthesisConfig(engines=("festival",), voices={"festival": ("cmu_us_slt_arctic_hts",)}, rates=(1.0,),
                             pitches=(0.8, 1.25), variants=3, max_sentences=1)
    result = synthesize_corpus(text_file, tmp_path / "out", config=config)
    assert [u.extra["pitch"] for u in result.utterances] == [1.0]  # one rendering is all there is


def test_the_draw_is_fair_across_voices_unless_engines_are_weighted():
    voices = {"espeak-ng": ("a", "b", "c", "d", "e", "f"), "flite": ("slt", "awb")}
    for weights, share in ((None, 0.75), ({"espeak-ng": 1, "flite": 1}, 0.5)):
        config = SynthesisConfig(engines=("espeak-ng", "flite"), voices=voices, engine_weights=weights)
        counts = collections.Counter(r.engine for i in range(4000) for r in synthesis._choose(f"s{i}", config))
        assert counts["espeak-ng"] / 4000 == pytest.approx(share, abs=0.03)


def test_max_hours_stops_once_the_clips_reach_it(tmp_path, text_file):
    _engine("espeak-ng")
    config = SynthesisConfig(engines=("espeak-ng",), voices={"espeak-ng": ("en-us",)})
    first = synthesize_corpus(text_file, tmp_path / "out", config=config).utterances[0].duration
    limited = SynthesisConfig(engines=("espeak-ng",), voices={"espeak-ng": ("en-us",)}, max_hours=first / 3600 + 1e-9)
    result = synthesize_corpus(text_file, tmp_path / "out", config=limited)
    assert len(result.utterances) == 2 and (result.synthesised, result.reused) == (0, 2)
    assert len(read_manifest(result.manifest)) == 2


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


def test_parallel_jobs_make_the_same_clips_and_manifest(tmp_path, text_file):
    _engine("espeak-ng")
    config = SynthesisConfig(engines=("espeak-ng",), voices={"espeak-ng": ("en-us", "en-gb")}, variants=2)
    alone = synthesize_corpus(text_file, tmp_path / "one", config=config)
    together = synthesize_corpus(text_file, tmp_path / "three", config=config, jobs=3)
    assert [(u.audio_filepath.name, u.text, u.extra) for u in together.utterances] == \
        [(u.audio_filepath.name, u.text, u.extra) for u in alone.utterances]
    assert together.synthesised == alone.synthesised == 8
    with pytest.raises(ValueError, match="jobs"):
        synthesize_corpus(text_file, tmp_path / "none", config=config, jobs=0)


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
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(synthesis, "_festival_voices", lambda: lambda voice: voice == "kal_diphone")
    with pytest.raises(SynthesisError, match=r"festival has no voice\(s\) \['ked_diphone', 'cmu_us_slt_arctic_hts'\] "
                                             r"\(apt-get install festvox-kdlpc16k festvox-us-slt-hts\)"):
        synthesize_corpus(text_file, tmp_path / "out", config=SynthesisConfig(engines=("festival",)))
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(SynthesisError, match=r"espeak-ng is not installed \(apt-get install espeak-ng\)"):
        synthesize_corpus(text_file, tmp_path / "out", config=SynthesisConfig(engines=("espeak-ng",)))
    with pytest.raises(SynthesisError, match=r"festival is not installed \(apt-get install festival\)"):
        synthesize_corpus(text_file, tmp_path / "out", config=SynthesisConfig(engines=("festival",)))


@pytest.mark.parametrize("options, message", [
    ({"engines": ("mary",)}, "engines must be some of"),
    ({"engines": ("flite",), "voices": {"espeak-ng": ("en-us",)}}, "no voices given"),
    ({"rates": (1.0, 0.0)}, "rates must be positive"),
    ({"pitches": ()}, "pitches must be positive"),
    ({"variants": 0}, "variants must be at least 1"),
    ({"max_sentences": 0}, "max_sentences must be at least 1"),
    ({"max_hours": 0.0}, "max_hours must be a positive number"),
    ({"max_hours": float("nan")}, "max_hours must be a positive number"),
    ({"engine_weights": {"espeak-ng": 1, "flite": 1}}, "engine_weights must give a positive weight to each of"),
    ({"engines": ("flite",), "engine_weights": {"flite": -1}}, "engine_weights must give a positive weight"),
])
def test_a_bad_config_is_refused(options, message):
    with pytest.raises(ValueError, match=message):
        SynthesisConfig(**options)


def test_the_config_normalises_its_exclude_set_and_drops_repeats():
    config = SynthesisConfig(exclude={"Hello, World!", " ?! "}, rates=[1, 1.0, 1.2])
    assert config.exclude == frozenset({"hello world"}) and config.rates == (1.0, 1.2)
