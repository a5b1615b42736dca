"""``asr transcribe``: formats, folders, bad files, long audio, captions."""

from __future__ import annotations

import json

import numpy as np
import pytest

from asr.captions import to_srt, to_vtt
from asr.cli import main
from asr.decoders import Word
from asr.segmentation import split_at_pauses
from asr.transcriber import load_model
from conftest import tone, write_audio


def _run(capsys, *args):
    code = main(["transcribe", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_json_has_one_object_per_file_with_timed_words(trained, capsys):
    output, manifest = trained
    files = [str(manifest.parent / name) for name in ("low.wav", "high.wav")]
    code, out, _ = _run(capsys, *files, "--model", str(output), "--decoder", "greedy", "--format", "json")
    assert code == 0
    objects = [json.loads(line) for line in out.splitlines()]
    assert [o["path"] for o in objects] == files
    for o in objects:
        assert o["duration"] == pytest.approx(1.0) and set(o) == {"path", "text", "duration", "words"}
        assert o["text"] == " ".join(w["word"] for w in o["words"])


def test_a_bad_file_is_reported_and_the_rest_transcribed(trained, tmp_path, capsys):
    output, manifest = trained
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio" * 30)
    code, out, err = _run(capsys, str(bad), str(manifest.parent / "low.wav"), str(tmp_path / "missing.wav"),
                          "--model", str(output), "--decoder", "greedy")
    assert code == 1
    assert f"error: {bad}: not a readable audio file" in err and f"error: {tmp_path / 'missing.wav'}: no such" in err
    assert out.startswith(f"{manifest.parent / 'low.wav'}: ")


def test_folders_are_searched_and_outputs_written_per_file(trained, tmp_path, capsys):
    output, manifest = trained
    (tmp_path / "empty").mkdir()
    code, out, err = _run(capsys, str(manifest.parent), str(tmp_path / "empty"), "--model", str(output),
                          "--decoder", "greedy", "--format", "vtt", "--output-dir", str(tmp_path / "out"))
    assert code == 1 and "folder holds no audio files" in err and out == ""
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["high.vtt", "low.vtt", "top.vtt"]
    assert (tmp_path / "out" / "low.vtt").read_text().startswith("WEBVTT")


def test_silence_gives_an_empty_transcript(trained, tmp_path, capsys):
    output, _ = trained
    silent = write_audio(tmp_path / "silence.wav", np.zeros(32000, dtype=np.float32), 16000)
    code, out, _ = _run(capsys, str(silent), "--model", str(output), "--decoder", "greedy", "--format", "json")
    assert code == 0 and json.loads(out)["duration"] == 2.0


def test_long_audio_is_cut_into_chunks_with_absolute_word_times(trained, tmp_path):
    output, manifest = trained
    pieces = [tone(1.0, frequency=f) for f in (300, 900, 2000)] * 15
    gaps = [np.zeros(8000, dtype=np.float32)] * len(pieces)
    audio = np.concatenate([x for pair in zip(pieces, gaps) for x in pair])
    path = write_audio(tmp_path / "long.wav", audio, 16000)
    transcript = load_model(output).transcribe(path, decoder="greedy")
    assert transcript.duration == pytest.approx(audio.size / 16000)
    starts = [w.start for w in transcript.words]
    assert starts == sorted(starts) and all(0 <= w.start < w.end <= transcript.duration for w in transcript.words)


def test_chunks_cover_the_audio_and_cut_in_pauses(rng):
    loud = rng.standard_normal(16000 * 70).astype(np.float32)
    loud[16000 * 15: 16000 * 15 + 4000] = 0  # a quarter-second pause at 15 s
    chunks = split_at_pauses(loud, sr=16000)
    assert chunks[0][0] == 0 and chunks[-1][1] == loud.size
    assert all(a[1] == b[0] for a, b in zip(chunks, chunks[1:]))
    assert all(end - start <= 20 * 16000 for start, end in chunks)
    assert 15 * 16000 <= chunks[0][1] <= 15 * 16000 + 4000
    assert split_at_pauses(loud[:16000], sr=16000) == [(0, 16000)]


def test_captions_group_words_into_timed_cues():
    words = [Word("hello", 0.0, 0.4, 0.9), Word("world", 0.5, 0.9, 0.8), Word("again", 3.0, 3.5, 0.7)]
    assert to_srt(words) == ("1\n00:00:00,000 --> 00:00:00,900\nhello world\n\n"
                             "2\n00:00:03,000 --> 00:00:03,500\nagain\n")
    assert to_vtt(words).startswith("WEBVTT\n\n00:00:00.000 --> 00:00:00.900\nhello world\n")
    assert to_srt([]) == ""


def test_a_long_file_streamed_block_by_block_gives_the_same_transcript(trained, tmp_path, monkeypatch):
    import asr.audio
    import asr.transcriber

    output, _ = trained
    pieces = [tone(1.0, frequency=f) for f in (300, 900, 2000)] * 30
    gaps = [np.zeros(8000, dtype=np.float32)] * len(pieces)
    audio = np.concatenate([x for pair in zip(pieces, gaps) for x in pair])  # 135 s
    path = write_audio(tmp_path / "long.flac", audio, 16000)
    transcriber = load_model(output)
    whole = transcriber.transcribe(path, decoder="greedy")
    monkeypatch.setattr(asr.transcriber, "STREAM_OVER_SECONDS", 60.0)
    monkeypatch.setattr(asr.audio, "BLOCK_SECONDS", 30.0)
    streamed = transcriber.transcribe(path, decoder="greedy")
    assert streamed.duration == whole.duration == pytest.approx(audio.size / 16000)
    assert streamed.text == whole.text
    assert [w.start for w in streamed.words] == pytest.approx([w.start for w in whole.words], abs=0.05)


@pytest.mark.parametrize("seed", range(6))
def test_a_stream_in_blocks_of_any_size_is_cut_where_the_whole_is_cut(seed):
    from asr.segmentation import split_stream

    rng = np.random.default_rng(seed)
    sr = 16_000
    samples = (rng.standard_normal(int(rng.uniform(1, 150) * sr)) * rng.uniform(0.01, 0.5, 1)).astype(np.float32)
    samples[rng.integers(0, samples.size, 40)] = 0.0
    bounds = np.sort(rng.choice(np.arange(1, samples.size), size=int(rng.integers(0, 12)), replace=False))
    blocks = np.split(samples, bounds)  # uneven blocks, some tiny, none on the energy grid
    streamed = list(split_stream(iter(blocks), sr=sr))
    assert [(start, start + chunk.size) for start, chunk in streamed] == split_at_pauses(samples, sr=sr)
    assert np.array_equal(np.concatenate([chunk for _, chunk in streamed]), samples)


def test_an_empty_stream_gives_no_chunks():
    from asr.segmentation import split_stream

    assert list(split_stream(iter([]))) == []
