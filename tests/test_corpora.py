"""Corpus layouts: each test builds a tiny corpus of tones in its layout and reads it back."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from asr import read_manifest
from asr.corpora import (CorpusError, read_cmu_arctic, read_common_voice, read_kaldi, read_librispeech,
                         read_ljspeech, read_vctk)
from conftest import ROOT, tone, write_audio


@dataclass
class Layout:
    """A corpus built in tmp_path: how to read it, what comes out, what is skipped."""

    read: object
    root: Path
    good: list  # (text, duration in seconds, extra) of each usable item, in order
    bad: list  # (file name, line or None, reason fragment) of each skipped item, in order


def _audio(path: Path, seconds: float, *, sr: int = 16_000, format: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_audio(path, tone(seconds, sr=sr), sr, format=format)


def _text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def librispeech(tmp_path: Path) -> Layout:
    root = tmp_path / "LibriSpeech" / "dev-clean"
    chapter = root / "19" / "198"
    _text(chapter / "19-198.trans.txt", "19-198-0000 NORTHANGER ABBEY\n19-198-0001 CHAPTER 1\n"
          "19-198-0002 THE AUDIO IS MISSING\n19-198-0003 日本\n\n")
    _audio(chapter / "19-198-0000.flac", 0.5)
    _audio(chapter / "19-198-0001.flac", 1.25, sr=22_050)
    _audio(chapter / "19-198-0003.flac", 0.5)
    other = root / "26" / "495"
    _text(other / "26-495.trans.txt", "26-495-0000 A GOOD ONE\n26-495-0001 NOT AUDIO AT ALL\n")
    _audio(other / "26-495-0000.flac", 0.75)
    (other / "26-495-0001.flac").write_bytes(b"these bytes are not audio" * 10)
    extra = {"speaker": "19", "chapter": "198", "source": "librispeech"}
    good = [("northanger abbey", 0.5, {"id": "19-198-0000", **extra}),
            ("chapter one", 1.25, {"id": "19-198-0001", **extra}),
            ("a good one", 0.75, {"id": "26-495-0000", "speaker": "26", "chapter": "495", "source": "librispeech"})]
    bad = [("19-198.trans.txt", 3, "no such file"), ("19-198.trans.txt", 4, "cannot map"),
           ("26-495.trans.txt", 2, "not a readable audio file")]
    return Layout(read_librispeech, root, good, bad)


def ljspeech(tmp_path: Path) -> Layout:
    root = tmp_path / "LJSpeech-1.1"
    _text(root / "metadata.csv", "LJ001-0001|Printing, in the only sense 1|Printing, in the only sense one\n"
          "LJ001-0002|in being comparatively modern.|\n"
          "LJ001-0003|The audio is missing.|The audio is missing.\n"
          "not a row at all\n"
          "LJ001-0005|...|...\n")
    for name, seconds in (("LJ001-0001", 0.5), ("LJ001-0002", 1.0), ("LJ001-0005", 0.5)):
        _audio(root / "wavs" / f"{name}.wav", seconds, sr=22_050)
    extra = {"speaker": "LJ", "source": "ljspeech"}
    good = [("printing in the only sense one", 0.5, {"id": "LJ001-0001", **extra}),
            ("in being comparatively modern", 1.0, {"id": "LJ001-0002", **extra})]
    bad = [("metadata.csv", 3, "no such file"), ("metadata.csv", 4, "expected 'id|text|normalized_text'"),
           ("metadata.csv", 5, "empty text")]
    return Layout(read_ljspeech, root, good, bad)


def common_voice(tmp_path: Path) -> Layout:
    root = tmp_path / "cv" / "en"
    header = "client_id\tpath\tsentence\tup_votes\tdown_votes\tage\tgender\taccents\tlocale\tsegment\n"
    _text(root / "validated.tsv", header
          + 'abc123\tcommon_voice_en_1.mp3\t"Hello," she said.\t2\t0\t\t\t\ten\t\n'
          + "\tcommon_voice_en_2.mp3\tIt's 5 o'clock.\t2\t0\t\t\t\ten\t\n"
          + "def456\tcommon_voice_en_3.mp3\tThe clip is missing.\t2\t0\t\t\t\ten\t\n"
          + "just one column\n")
    _audio(root / "clips" / "common_voice_en_1.mp3", 1.0, sr=48_000, format="MP3")
    _audio(root / "clips" / "common_voice_en_2.mp3", 0.5, sr=48_000, format="MP3")
    good = [("hello she said", 1.0, {"id": "common_voice_en_1", "speaker": "abc123", "source": "common_voice"}),
            ("it's five o'clock", 0.5, {"id": "common_voice_en_2", "source": "common_voice"})]
    bad = [("validated.tsv", 4, "no such file"), ("validated.tsv", 5, "tab-separated columns")]
    return Layout(read_common_voice, root, good, bad)


def kaldi(tmp_path: Path) -> Layout:
    root = tmp_path / "data" / "train"
    outside = _audio(tmp_path / "elsewhere" / "utt2.flac", 0.75)
    _audio(root / "audio" / "utt1.wav", 0.5, sr=8_000)
    _text(root / "wav.scp", f"utt1 audio/utt1.wav\nutt2   {outside}\nutt3 sox audio/x.wav -t wav - |\n")
    _text(root / "text", "utt1 HELLO WORLD\nutt2\tgood morning\nutt3 piped in\nutt4 has no recording\n")
    _text(root / "utt2spk", "utt1 spk1\nutt2 spk2\nutt3 spk1\nutt4 spk2\n")
    good = [("hello world", 0.5, {"id": "utt1", "speaker": "spk1", "source": "kaldi"}),
            ("good morning", 0.75, {"id": "utt2", "speaker": "spk2", "source": "kaldi"})]
    bad = [("wav.scp", 3, "piped command for 'utt3' is not supported"), ("text", 4, "'utt4' has no entry in")]
    return Layout(read_kaldi, root, good, bad)


def cmu_arctic(tmp_path: Path) -> Layout:
    root = tmp_path / "cmu_us_slt_arctic"
    _text(root / "etc" / "txt.done.data", '( arctic_a0001 "Author of the danger trail, Philip Steels, etc." )\n'
          '( arctic_a0002 "Not at this particular case, Tom, apologized Whittemore." )\n'
          "this line is garbage\n"
          '( arctic_a0004 "The audio is missing." )\n')
    _audio(root / "wav" / "arctic_a0001.wav", 0.5)
    _audio(root / "wav" / "arctic_a0002.wav", 1.5, sr=32_000)
    extra = {"speaker": "slt", "source": "cmu_arctic"}
    good = [("author of the danger trail philip steels etc", 0.5, {"id": "arctic_a0001", **extra}),
            ("not at this particular case tom apologized whittemore", 1.5, {"id": "arctic_a0002", **extra})]
    bad = [("txt.done.data", 3, "expected '( id \"text\" )'"), ("txt.done.data", 4, "no such file")]
    return Layout(read_cmu_arctic, root, good, bad)


def vctk(tmp_path: Path) -> Layout:
    root = tmp_path / "VCTK"
    _text(root / "txt" / "p225" / "p225_001.txt", "Please call Stella.\n")
    _audio(root / "wav48" / "p225" / "p225_001.wav", 0.5, sr=48_000)
    _text(root / "txt" / "p225" / "p225_002.txt", " -- \n")
    _audio(root / "wav48" / "p225" / "p225_002.wav", 0.5)
    _text(root / "txt" / "p226" / "p226_001.txt", "Ask her to bring these things\nwith her from the store.")
    _audio(root / "wav48_silence_trimmed" / "p226" / "p226_001_mic1.flac", 1.0, sr=48_000)
    _audio(root / "wav48_silence_trimmed" / "p226" / "p226_001_mic2.flac", 2.0, sr=48_000)
    _text(root / "txt" / "p226" / "p226_002.txt", "No audio for this one.")
    good = [("please call stella", 0.5, {"id": "p225_001", "speaker": "p225", "source": "vctk"}),
            ("ask her to bring these things with her from the store", 1.0,
             {"id": "p226_001", "speaker": "p226", "source": "vctk"})]
    bad = [("p225_002.txt", None, "empty text"), ("p226_002.txt", None, "no audio")]
    return Layout(read_vctk, root, good, bad)


LAYOUTS = [librispeech, ljspeech, common_voice, kaldi, cmu_arctic, vctk]
READERS = [read_librispeech, read_ljspeech, read_common_voice, read_kaldi, read_cmu_arctic, read_vctk]


@pytest.mark.parametrize("build", LAYOUTS)
def test_good_items_become_utterances(tmp_path, build):
    layout = build(tmp_path)
    corpus = layout.read(layout.root)
    assert corpus.root == layout.root.resolve()
    assert [utterance.text for utterance in corpus] == [text for text, _, _ in layout.good]
    assert [utterance.extra for utterance in corpus] == [extra for _, _, extra in layout.good]
    tolerance = 0.06 if build is common_voice else 1e-4  # tones are whole samples; mp3 counts whole frames
    for utterance, (_, seconds, _) in zip(corpus, layout.good):
        assert utterance.duration == pytest.approx(seconds, abs=tolerance)
        assert utterance.audio_filepath.is_absolute() and utterance.audio_filepath.is_file()
    assert corpus.duration == pytest.approx(sum(seconds for _, seconds, _ in layout.good), abs=2 * tolerance)


@pytest.mark.parametrize("build", LAYOUTS)
def test_bad_items_are_skipped_counted_and_logged(tmp_path, build, caplog):
    layout = build(tmp_path)
    with caplog.at_level(logging.WARNING):
        corpus = layout.read(layout.root)
    assert len(corpus) == len(layout.good)
    assert len(corpus.problems) == len(layout.bad)
    for problem, (name, line, reason) in zip(corpus.problems, layout.bad):
        assert (Path(problem.path).name, problem.line) == (name, line)
        assert reason in problem.reason
        where = problem.path if line is None else f"{problem.path}:{line}"
        assert f"{where}: " in caplog.text
    assert f"skipped {len(layout.bad)} bad item(s) of {len(layout.good) + len(layout.bad)}" in caplog.text


@pytest.mark.parametrize("build", LAYOUTS)
def test_strict_raises_on_the_first_bad_item(tmp_path, build):
    layout = build(tmp_path)
    name, line, reason = layout.bad[0]
    where = name if line is None else f"{name}:{line}"
    with pytest.raises(CorpusError, match=f"{where}: .*") as caught:
        layout.read(layout.root, strict=True)
    assert reason in caught.value.reason


@pytest.mark.parametrize("read", READERS)
def test_a_missing_root_raises_naming_it(tmp_path, read):
    with pytest.raises(CorpusError, match="nope: no such folder"):
        read(tmp_path / "nope")


@pytest.mark.parametrize("read, index", [
    (read_librispeech, "trans.txt"), (read_ljspeech, "metadata.csv: index file not found"),
    (read_common_voice, "validated.tsv: index file not found"), (read_kaldi, "wav.scp: index file not found"),
    (read_cmu_arctic, "txt.done.data: index file not found"), (read_vctk, "txt: no such folder"),
])
def test_a_missing_index_raises_naming_it(tmp_path, read, index):
    with pytest.raises(CorpusError, match=index):
        read(tmp_path)


def test_kaldi_without_text_or_with_segments_raises(tmp_path):
    _text(tmp_path / "wav.scp", "utt1 a.wav\n")
    with pytest.raises(CorpusError, match="text: index file not found"):
        read_kaldi(tmp_path)
    _text(tmp_path / "text", "utt1 hello\n")
    _text(tmp_path / "segments", "utt1 rec1 0.0 1.0\n")
    with pytest.raises(CorpusError, match="segments: segments are not supported"):
        read_kaldi(tmp_path)


def test_kaldi_relative_paths_start_from_audio_root_and_utt2spk_is_optional(tmp_path):
    data = tmp_path / "s5" / "data" / "dev"
    _audio(tmp_path / "s5" / "wav" / "a.wav", 0.5)
    _text(data / "wav.scp", "a wav/a.wav\n")
    _text(data / "text", "a Hi there\n")
    (utterance,) = read_kaldi(data, audio_root=tmp_path / "s5")
    assert utterance.audio_filepath == (tmp_path / "s5" / "wav" / "a.wav").resolve()
    assert utterance.extra == {"id": "a", "source": "kaldi"}


def test_common_voice_reads_the_split_asked_for_and_checks_its_header(tmp_path):
    _audio(tmp_path / "clips" / "x.mp3", 0.5, format="MP3")
    _text(tmp_path / "dev.tsv", "client_id\tpath\tsentence\nc\tx.mp3\tDev sentence\n")
    assert [u.text for u in read_common_voice(tmp_path, split="dev")] == ["dev sentence"]
    _text(tmp_path / "train.tsv", "client_id\tfile\ttext\n")
    with pytest.raises(CorpusError, match=r"train.tsv:1: missing column\(s\) 'path', 'sentence'"):
        read_common_voice(tmp_path, split="train")


def test_cmu_arctic_speaker_and_vctk_mic_options(tmp_path):
    arctic = cmu_arctic(tmp_path)
    assert {u.extra["speaker"] for u in read_cmu_arctic(arctic.root, speaker="SLT-F")} == {"SLT-F"}
    corpus = read_vctk(vctk(tmp_path).root, mic=2)
    assert corpus[1].audio_filepath.name == "p226_001_mic2.flac" and corpus[1].duration == pytest.approx(2.0)


def test_a_prep_script_writes_a_manifest_and_summary(tmp_path):
    layout = librispeech(tmp_path)
    output = tmp_path / "manifests" / "dev.jsonl"
    result = _script("librispeech.py", layout.root, "--output", output)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{output}: 3 utterances, 0.00 h, 3 skipped"
    assert "19-198.trans.txt:3" in result.stderr
    manifest = read_manifest(output, strict=True)
    assert [u.text for u in manifest] == [text for text, _, _ in layout.good]
    assert json.loads(output.read_text().splitlines()[0])["speaker"] == "19"


def test_a_prep_script_exits_1_in_strict_mode_and_for_a_missing_root(tmp_path):
    layout = cmu_arctic(tmp_path)
    output = tmp_path / "arctic.jsonl"
    strict = _script("cmu_arctic.py", layout.root, "--output", output, "--strict")
    assert strict.returncode == 1 and "txt.done.data:3" in strict.stderr and not output.exists()
    missing = _script("vctk.py", tmp_path / "nope", "--output", output)
    assert missing.returncode == 1 and "no such folder" in missing.stderr


def _script(name: str, *args) -> subprocess.CompletedProcess:
    """Run ``python data_prep/<name> args...`` from the repository root."""
    command = [sys.executable, f"data_prep/{name}", *map(str, args)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
