"""The bad-input matrix: every kind of broken or unusual input, and what ``asr`` does with it.

Each input either gets a correct result or a clear error that names it and says why; a batch goes on
past a bad item, and the exit code says whether anything failed (0 all done, 1 something failed,
2 usage). docs/reliability.md holds the same matrix as a table.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile

from asr.cli import main
from conftest import tone, write_audio

SR = 16_000


def _run(*args) -> tuple[int, str, str]:
    """Run the ``asr`` command in-process: (exit code, stdout, stderr with the log messages)."""
    out, err = io.StringIO(), io.StringIO()
    handler = logging.StreamHandler(err)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(map(str, args)))
    finally:
        logging.getLogger().removeHandler(handler)
    return code, out.getvalue(), err.getvalue()


# --- audio files --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AudioCase:
    """One input of ``asr transcribe``: how to make it, and either its duration or the error it must raise."""

    name: str  # the file, relative to the input folder
    make: callable  # writes the file at the given path
    seconds: float | None = None  # expected duration of a good input
    error: str | None = None  # expected reason of a bad one
    text: str | None = None  # expected transcript, where it is known
    warning: str | None = None  # expected warning about a good input


def _tone_file(seconds=2.0, *, sr=SR, channels=1, subtype=None, format=None):
    return lambda path: write_audio(path, tone(seconds, sr=sr, channels=channels), sr, subtype=subtype, format=format)


def _samples_file(samples, *, subtype="FLOAT"):
    return lambda path: soundfile.write(str(path), samples, SR, subtype=subtype)


def _with_bad_sample(value):
    samples = tone(2.0)
    samples[1000] = value
    return _samples_file(samples)


def _bytes(data: bytes):
    return lambda path: path.write_bytes(data)


def _truncated(format, subtype, *, keep=0.5):
    """A 6 s tone encoded in ``format``, cut after ``keep`` of its bytes."""
    def make(path):
        write_audio(path, tone(6.0), SR, format=format, subtype=subtype)
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * keep)])
    return make


AUDIO_CASES = [
    AudioCase("empty.wav", _bytes(b""), error="file is empty (0 bytes)"),
    AudioCase("zero-samples.wav", _samples_file(np.zeros(0, np.float32), subtype="PCM_16"), error="has no samples"),
    AudioCase("text-bytes.wav", _bytes(b"this is not audio\n" * 40), error="not a readable audio file"),
    AudioCase("random-bytes.flac", _bytes(np.random.default_rng(1).bytes(4000)), error="not a readable audio file"),
    AudioCase("text-bytes.mp3", _bytes(b"ID3 but not really\n" * 60), error="not a readable audio file"),
    # cut off half way: what decodes before the cut is kept, with a warning; Ogg keeps nothing
    AudioCase("truncated.flac", _truncated("FLAC", "PCM_16"), warning="truncated or damaged"),
    AudioCase("truncated.ogg", _truncated("OGG", "VORBIS"), error="has no samples"),
    AudioCase("truncated.mp3", _truncated("MP3", "MPEG_LAYER_III"), warning="truncated or damaged"),
    AudioCase("cut-in-header.flac", _truncated("FLAC", "PCM_16", keep=0.01), error="not a readable audio file"),
    AudioCase("truncated.wav", _truncated("WAV", "PCM_16"), seconds=3.0),  # the header promises 6 s
    AudioCase("pcm-8bit.wav", _tone_file(subtype="PCM_U8"), seconds=2.0),
    AudioCase("pcm-24bit.wav", _tone_file(subtype="PCM_24"), seconds=2.0),
    AudioCase("float32.wav", _tone_file(subtype="FLOAT"), seconds=2.0),
    AudioCase("float64.wav", _tone_file(subtype="DOUBLE"), seconds=2.0),
    AudioCase("8khz.wav", _tone_file(sr=8_000), seconds=2.0),
    AudioCase("48khz.flac", _tone_file(sr=48_000), seconds=2.0),
    AudioCase("stereo.wav", _tone_file(channels=2), seconds=2.0),
    AudioCase("6-channel.wav", _tone_file(channels=6), seconds=2.0),
    AudioCase("nan.wav", _with_bad_sample(np.nan), error="holds NaN or infinite samples"),
    AudioCase("inf.wav", _with_bad_sample(np.inf), error="holds NaN or infinite samples"),
    AudioCase("silence.wav", _samples_file(np.zeros(2 * SR, np.float32)), seconds=2.0, text=""),
    AudioCase("10ms.wav", _tone_file(0.01), error="is 10.0 ms long, shorter than one 20 ms analysis window"),
    AudioCase("30ms.wav", _tone_file(0.03), seconds=0.03),
    AudioCase("my clips/héllo wörld ☃ naïve.ogg", _tone_file(format="OGG", subtype="VORBIS"), seconds=2.0),
    AudioCase("a/talk.wav", _tone_file(1.0), seconds=1.0),  # three inputs that would all write talk.json
    AudioCase("b/talk.wav", _tone_file(1.5), seconds=1.5),
    AudioCase("b/talk.flac", _tone_file(2.5), seconds=2.5),
]


@pytest.fixture(scope="module")
def transcribed(trained, tmp_path_factory):
    """Every audio case in one folder, transcribed in one ``asr transcribe`` run: (inputs, outputs, code, stderr)."""
    root = tmp_path_factory.mktemp("matrix")
    inputs, outputs = root / "inputs", root / "outputs"
    for case in AUDIO_CASES:
        (inputs / case.name).parent.mkdir(parents=True, exist_ok=True)
        case.make(inputs / case.name)
    model, _ = trained
    code, _, err = _run("transcribe", inputs, "--model", model, "--decoder", "greedy", "--format", "json",
                        "--output-dir", outputs)
    return inputs, outputs, code, err


def _written(outputs: Path) -> dict[str, dict]:
    """The JSON transcripts of a run, by the input file they are of."""
    found = [json.loads(path.read_text()) for path in outputs.rglob("*.json")]
    return {Path(record["path"]).as_posix(): record for record in found}


@pytest.mark.parametrize("case", AUDIO_CASES, ids=[case.name for case in AUDIO_CASES])
def test_each_audio_input_gets_a_transcript_or_an_error_naming_it(transcribed, case):
    inputs, outputs, _, err = transcribed
    path = inputs / case.name
    written = _written(outputs)
    if case.error:
        assert f"error: {path}: {case.error}" in err
        assert path.as_posix() not in written
        return
    assert f"error: {path}:" not in err
    assert (f"WARNING: {path}: {case.warning}" in err) if case.warning else (f"WARNING: {path}:" not in err)
    record = written[path.as_posix()]
    if case.seconds is not None:
        assert record["duration"] == pytest.approx(case.seconds, abs=0.01)
    else:
        assert 0.5 < record["duration"] < 6.0
    if case.text is not None:
        assert record["text"] == case.text


def test_the_batch_goes_on_past_bad_files_and_exits_1(transcribed):
    inputs, outputs, code, err = transcribed
    assert code == 1
    assert len(_written(outputs)) == sum(case.error is None for case in AUDIO_CASES)
    assert err.count("error: ") == sum(case.error is not None for case in AUDIO_CASES)
    assert not list(outputs.rglob(".*tmp-*"))


def test_inputs_that_share_a_name_get_outputs_of_their_own(transcribed):
    _, outputs, _, _ = transcribed
    assert {p.relative_to(outputs).as_posix() for p in outputs.rglob("talk*")} == {
        "a/talk.json", "b/talk.wav.json", "b/talk.flac.json"}


@pytest.mark.parametrize("relative, names", [
    (["x/talk", "y/talk", "z/talk-2.wav"], ["x/talk", "y/talk", "z/talk-2"]),
    (["talk.wav", "talk.wav", "talk-2.wav"], ["talk.wav", "talk.wav-2", "talk-2"]),
    (["talk", "talk", "talk-2"], ["talk", "talk-3", "talk-2"]),
])
def test_output_names_never_collide(relative, names):
    from pathlib import PurePath

    from asr.output import AudioInput, output_names

    inputs = [AudioInput(Path("/in") / str(i) / name, PurePath(name)) for i, name in enumerate(relative)]
    assert [str(name) for name in output_names(inputs)] == names


def test_paths_given_twice_or_outside_the_output_folder_are_handled(trained, tmp_path):
    model, manifest = trained
    clip = manifest.parent / "low.wav"
    code, out, err = _run("transcribe", clip, clip, manifest.parent, "--model", model, "--decoder", "greedy",
                          "--output-dir", tmp_path / "out")
    assert code == 0 and err == "" and out == ""
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["high.txt", "low.txt", "top.txt"]


@pytest.mark.parametrize("paths, message", [
    (["missing.wav"], "missing.wav: no such file"),
    (["no-audio"], "no-audio: folder holds no audio files"),
])
def test_bad_paths_are_reported_and_the_good_ones_transcribed(trained, tmp_path, monkeypatch, paths, message):
    model, manifest = trained
    monkeypatch.chdir(tmp_path)
    (tmp_path / "no-audio").mkdir()
    (tmp_path / "no-audio" / "notes.txt").write_text("not audio")
    code, out, err = _run("transcribe", *paths, manifest.parent / "low.wav", "--model", model, "--decoder", "greedy")
    assert code == 1 and f"error: {message}" in err
    assert len(out.splitlines()) == 1  # the good file's transcript


def test_a_clean_batch_exits_0_and_a_usage_error_2(trained):
    model, manifest = trained
    assert _run("transcribe", manifest.parent / "low.wav", "--model", model, "--decoder", "greedy")[0] == 0
    assert _run("transcribe", manifest.parent / "low.wav", "--no-such-option")[0] == 2


@pytest.mark.slow
def test_a_two_hour_file_is_transcribed_in_chunks(trained, tmp_path):
    """Two hours of quiet noise with a tone every minute: the whole length comes back with times inside it."""
    model, _ = trained
    rng = np.random.default_rng(0)
    path = tmp_path / "two hours.flac"
    minute = (0.01 * rng.standard_normal(60 * SR)).astype(np.float32)
    minute[: SR] += tone(1.0)
    with soundfile.SoundFile(str(path), "w", samplerate=SR, channels=1, subtype="PCM_16") as handle:
        for _ in range(120):
            handle.write(minute)
    code, out, err = _run("transcribe", path, "--model", model, "--decoder", "greedy", "--format", "json")
    assert code == 0, err
    record = json.loads(out)
    assert record["duration"] == pytest.approx(7200.0)
    assert all(0 <= w["start"] <= w["end"] <= 7200.0 for w in record["words"])


# --- manifests ----------------------------------------------------------------------------------------------

MANIFEST_LINES = [  # (line, the reason it is skipped, or None for a good line)
    ('{"audio_filepath": "low.wav", "duration": 1.0, "text": "low"}', None),
    ('{"audio_filepath": "low.wav", "duration": 1.0, "text": "lo', "broken JSON"),
    ("not json at all", "broken JSON"),
    ('["a", "list"]', "expected a JSON object"),
    ('{"audio_filepath": "gone.wav", "duration": 1.0, "text": "gone"}', "audio file not found"),
    ('{"audio_filepath": "high.wav", "duration": 1.0, "text": ""}', "empty text"),
    ('{"audio_filepath": "high.wav", "duration": 1.0, "text": "日本語"}', "onto the alphabet"),
    ('{"audio_filepath": "high.wav", "duration": -1, "text": "high"}', "duration must be a positive number"),
    ('{"audio_filepath": "high.wav", "text": "high"}', "missing key(s) 'duration'"),
    ('{"audio_filepath": "loop.wav", "duration": 1.0, "text": "loop"}', "not a usable path (Symlink loop"),
    ('{"audio_filepath": "top.wav", "duration": 1.0, "text": "top"}', None),
    # as long as the audio allows CTC to spell it? Scored anyway: the model's transcript is what it is.
    ('{"audio_filepath": "high.wav", "duration": 1.0, "text": "' + "word " * 60 + '"}', None),
]


@pytest.fixture(scope="module")
def evaluated(trained, tmp_path_factory):
    """``asr evaluate`` on a manifest with a bad line of every kind, an unreadable one and an all-bad one."""
    model, manifest = trained
    folder = tmp_path_factory.mktemp("manifests")
    for clip in manifest.parent.glob("*.wav"):
        shutil.copy(clip, folder / clip.name)
    (folder / "loop.wav").symlink_to(folder / "loop.wav")
    (folder / "mixed.jsonl").write_text("".join(line + "\n" for line, _ in MANIFEST_LINES))
    (folder / "all-bad.jsonl").write_text('{"broken\n\n')
    (folder / "binary.jsonl").write_bytes(b"\xff\xfe\x00garbage")
    names = ["mixed.jsonl", "missing.jsonl", "all-bad.jsonl", "binary.jsonl", "mixed.jsonl"]
    return folder, _run("evaluate", *(folder / name for name in names), "--model", model, "--decoder", "greedy",
                        "--json")


@pytest.mark.parametrize("number", [n for n, (_, reason) in enumerate(MANIFEST_LINES, 1) if reason])
def test_each_bad_manifest_line_is_skipped_naming_its_line_and_reason(evaluated, number):
    folder, (_, _, err) = evaluated
    reason = MANIFEST_LINES[number - 1][1]
    assert any(f"{folder / 'mixed.jsonl'}:{number}: " in line and reason in line for line in err.splitlines())


def test_the_good_lines_are_scored_and_the_bad_ones_counted(evaluated):
    folder, (code, out, _) = evaluated
    results = [json.loads(line) for line in out.splitlines()]
    good = sum(reason is None for _, reason in MANIFEST_LINES)
    assert [r["manifest"] for r in results] == [str(folder / "mixed.jsonl")] * 2  # the batch went on
    assert all(r["utterances"] == good and r["skipped"] == len(MANIFEST_LINES) - good for r in results)
    assert code == 1


@pytest.mark.parametrize("name, reason", [
    ("missing.jsonl", "cannot read manifest"),
    ("all-bad.jsonl", "no usable utterances"),
    ("binary.jsonl", "cannot read manifest"),
])
def test_an_unusable_manifest_is_an_error_naming_it(evaluated, name, reason):
    folder, (_, _, err) = evaluated
    assert f"error: {folder / name}: {reason}" in err


def test_a_transcript_too_long_for_its_audio_is_left_out_of_training(tmp_path, caplog):
    from asr import Utterance, read_manifest, write_manifest
    from asr.training import train
    from test_training import _tiny_config, _tone_manifest

    manifest = _tone_manifest(tmp_path / "data")
    long = write_audio(tmp_path / "data" / "short.wav", tone(0.3), SR)
    utterances = [*read_manifest(manifest),
                  Utterance(audio_filepath=long, duration=0.3, text="far too many words for a third of a second")]
    write_manifest(utterances, manifest)
    train(_tiny_config(manifest, tmp_path / "run", epochs=1, dev_manifests=()), verbose=0)
    assert f"{long}: transcript of " in caplog.text and "too long for its audio; utterance dropped" in caplog.text
    assert (tmp_path / "run" / "model.keras").is_file()


# --- model folders and language models ----------------------------------------------------------------------


def _truncate(name):
    def damage(folder):
        data = (folder / name).read_bytes()
        (folder / name).write_bytes(data[: len(data) // 3])
    return damage


def _replace(name, text):
    return lambda folder: (folder / name).write_text(text)


def _remove(name):
    return lambda folder: (folder / name).unlink()


def _json_edit(name, change):
    def edit(folder):
        values = json.loads((folder / name).read_text())
        change(values)
        (folder / name).write_text(json.dumps(values))
    return edit


MODEL_CASES = [  # (id, damage to a copy of a good model folder, the error's file, its reason)
    ("no-weights", _remove("model.keras"), "", "model folder lacks model.keras"),
    ("truncated-weights", _truncate("model.keras"), "model.keras", "cannot load the acoustic model"),
    ("text-as-weights", _replace("model.keras", "weights"), "model.keras", "cannot load the acoustic model"),
    ("no-config", _remove("config.json"), "", "model folder lacks config.json"),
    ("broken-config", _replace("config.json", '{"features": '), "config.json", "not readable JSON"),
    ("config-not-object", _replace("config.json", "[1, 2]"), "config.json", "expected a JSON object"),
    ("config-no-features", _json_edit("config.json", lambda v: v.pop("features")), "config.json",
     "no usable 'features' section"),
    ("wrong-normaliser", _json_edit("normalizer.json", lambda v: v.update(mean=v["mean"][:3], std=v["std"][:3])),
     "", "the model takes"),
    ("broken-alphabet", _replace("alphabet.json", "{"), "alphabet.json", "cannot read"),
    ("bad-decoding", _replace("decoding.json", '{"alpha": 1, "colour": "red"}'), "decoding.json",
     "unexpected decoder settings"),
    ("lm-not-an-lm", lambda folder: (_replace("decoding.json", '{"lm": "lm/lm.bin"}')(folder),
                                     (folder / "lm").mkdir(), _replace("lm/lm.bin", "not an lm\n")(folder)),
     "lm/lm.bin", "cannot load the KenLM model"),
]


@pytest.mark.parametrize("damage, where, reason", [case[1:] for case in MODEL_CASES],
                         ids=[case[0] for case in MODEL_CASES])
def test_a_broken_model_folder_is_an_error_naming_the_file(trained, tmp_path, damage, where, reason):
    model, manifest = trained
    broken = tmp_path / "model"
    shutil.copytree(model, broken)
    damage(broken)
    decoder = "lm" if "lm" in where else "greedy"
    code, out, err = _run("transcribe", manifest.parent / "low.wav", "--model", broken, "--decoder", decoder)
    assert code == 1 and out == ""
    assert f"{broken / where if where else broken}" in err and reason in err
