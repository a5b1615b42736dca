"""Manifests: reading good and bad lines, writing, the shared corpus."""

from __future__ import annotations

import json
import logging

import pytest

from asr import ManifestError, Utterance, read_manifest, write_manifest
from conftest import tone, write_audio


@pytest.fixture
def clip(tmp_path):
    (tmp_path / "audio").mkdir()
    return write_audio(tmp_path / "audio" / "a.wav", tone(1.0), 16000)


def _write_lines(path, lines):
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path


def test_relative_and_absolute_paths_and_extra_keys(tmp_path, clip):
    manifest_path = _write_lines(tmp_path / "m.jsonl", [
        {"audio_filepath": "audio/a.wav", "duration": 1.0, "text": "Hello there!", "speaker": "s1"},
        "",
        {"audio_filepath": str(clip), "duration": 1, "text": "two"},
    ])
    manifest = read_manifest(manifest_path)
    assert len(manifest) == 2 and not manifest.problems
    assert manifest[0].audio_filepath == clip.resolve()
    assert manifest[0].text == "hello there"
    assert manifest[0].extra == {"speaker": "s1"}
    assert manifest[1].audio_filepath == clip.resolve()
    assert manifest.duration == 2.0


BAD_LINES = [
    ('{"audio_filepath": "audio/a.wav", "duration": 1.0, "text": "x"', "broken JSON"),
    ('["a", "list"]', "expected a JSON object"),
    ({"audio_filepath": "audio/a.wav", "duration": 1.0}, "missing key(s) 'text'"),
    ({"audio_filepath": "audio/missing.wav", "duration": 1.0, "text": "x"}, "audio file not found"),
    ({"audio_filepath": "audio/a.wav", "duration": -2, "text": "x"}, "duration must be a positive number"),
    ({"audio_filepath": "audio/a.wav", "duration": "long", "text": "x"}, "duration must be a positive number"),
    ({"audio_filepath": "audio/a.wav", "duration": 1.0, "text": " ?! "}, "empty text"),
    ({"audio_filepath": "audio/a.wav", "duration": 1.0, "text": "日本語"}, "cannot map"),
    ({"audio_filepath": 7, "duration": 1.0, "text": "x"}, "audio_filepath must be a non-empty string"),
]


@pytest.mark.parametrize("line, reason", BAD_LINES)
def test_a_bad_line_is_skipped_with_its_line_number_and_reason(tmp_path, clip, line, reason, caplog):
    good = {"audio_filepath": "audio/a.wav", "duration": 1.0, "text": "fine"}
    path = _write_lines(tmp_path / "m.jsonl", [good, line, good])
    with caplog.at_level(logging.WARNING):
        manifest = read_manifest(path)
    assert len(manifest) == 2
    (problem,) = manifest.problems
    assert problem.line == 2 and reason in problem.reason
    assert f"{path}:2" in caplog.text
    with pytest.raises(ManifestError, match=f"{path.name}:2: .*"):
        read_manifest(path, strict=True)


def test_an_unreadable_manifest_raises(tmp_path):
    with pytest.raises(ManifestError, match="cannot read manifest"):
        read_manifest(tmp_path / "nope.jsonl")


def test_write_then_read_round_trips(tmp_path, clip):
    elsewhere = write_audio(tmp_path.parent / f"{tmp_path.name}-outside.wav", tone(0.5), 16000)
    utterances = [
        Utterance(audio_filepath=clip, duration=1.0, text="one", extra={"speaker": "ü"}),
        Utterance(audio_filepath=elsewhere, duration=0.5, text="two"),
    ]
    path = tmp_path / "out" / ".." / "m.jsonl"
    write_manifest(utterances, path)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[0]["audio_filepath"] == "audio/a.wav"
    assert lines[1]["audio_filepath"] == str(elsewhere.resolve())
    assert list(read_manifest(path)) == utterances
    assert read_manifest(path)[0].extra == {"speaker": "ü"}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_the_shared_corpus_manifests_are_clean(corpus):
    for path in sorted(corpus.glob("*/*.jsonl")):
        manifest = read_manifest(path, strict=True)
        assert len(manifest) > 0, path
