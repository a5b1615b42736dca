"""Transcriber and ``asr evaluate`` on a tiny trained model folder."""

from __future__ import annotations

import json

import numpy as np
import pytest

from asr import AudioError, ModelError
from asr.cli import main
from asr.model_folder import load_model_folder
from asr.transcriber import load_model


def test_a_model_folder_loads_with_its_pipeline(trained):
    output, _ = trained
    folder = load_model_folder(output)
    assert folder.features.kind == "logmel" and folder.frame_seconds == pytest.approx(0.02)
    assert folder.acoustic.output_shape[-1] == folder.alphabet.num_classes


@pytest.mark.parametrize("broken, reason", [("model.keras", "cannot load the acoustic model"),
                                            ("config.json", "not readable JSON"),
                                            ("normalizer.json", "cannot read")])
def test_a_damaged_part_is_named(trained, tmp_path, broken, reason):
    import shutil
    copy = tmp_path / "copy"
    shutil.copytree(trained[0], copy)
    (copy / broken).write_bytes(b"\x00garbage")
    with pytest.raises(ModelError, match=reason) as caught:
        load_model_folder(copy)
    assert broken in str(caught.value)


def test_a_missing_part_is_named(trained, tmp_path):
    import shutil
    copy = tmp_path / "copy"
    shutil.copytree(trained[0], copy)
    (copy / "alphabet.json").unlink()
    with pytest.raises(ModelError, match="lacks alphabet.json"):
        load_model_folder(copy)


def test_transcribe_returns_text_duration_and_timed_words(trained):
    output, manifest = trained
    transcriber = load_model(output)
    audio = manifest.parent / "low.wav"
    for decoder in ("greedy", "beam"):
        transcript = transcriber.transcribe(audio, decoder=decoder)
        assert transcript.duration == pytest.approx(1.0)
        assert transcript.source == str(audio)
        assert transcript.text == " ".join(w.word for w in transcript.words)
        assert all(0 <= w.start < w.end <= 1.0 + 1e-6 for w in transcript.words)
    silence = transcriber.transcribe(np.zeros(16000, dtype=np.float32), sr=16000, decoder="greedy")
    assert silence.duration == 1.0
    with pytest.raises(AudioError, match="no such file"):
        transcriber.transcribe(manifest.parent / "missing.wav", decoder="greedy")


def test_batch_equals_one_by_one(trained):
    output, manifest = trained
    transcriber = load_model(output)
    files = sorted(manifest.parent.glob("*.wav"))
    batch = transcriber.log_probs_batch([transcriber.load(f) for f in files])
    for path, scores in zip(files, batch):
        np.testing.assert_allclose(scores, transcriber.log_probs(transcriber.load(path)), atol=1e-4)


def test_evaluate_prints_one_json_object_per_manifest(trained, tmp_path, capsys):
    output, manifest = trained
    details = tmp_path / "details.jsonl"
    code = main(["evaluate", str(manifest), str(manifest), "--model", str(output), "--decoder", "greedy", "--json",
                 "--details", str(details)])
    assert code == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 2
    for line in lines:
        assert {"manifest", "utterances", "audio_seconds", "wer", "cer", "rtf", "decoder", "model"} <= set(line)
        assert line["utterances"] == 6 and line["audio_seconds"] == pytest.approx(6.0)
        assert 0 <= line["cer"] and line["rtf"] > 0
    rows = [json.loads(line) for line in details.read_text().splitlines()]
    assert len(rows) == 12 and {"reference", "hypothesis", "wer"} <= set(rows[0])


def test_evaluate_counts_unreadable_audio_and_exits_1(trained, tmp_path, capsys):
    output, manifest = trained
    broken = manifest.parent / "broken.jsonl"
    bad_audio = tmp_path / "bad.wav"
    bad_audio.write_bytes(b"not audio" * 50)
    broken.write_text(manifest.read_text().replace("low.wav", str(bad_audio)))
    assert main(["evaluate", str(broken), "--model", str(output), "--decoder", "greedy", "--json"]) == 1
    (line,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert line["failed"] == 2 and line["utterances"] == 6


def _model_copy_and_lm(trained, tmp_path):
    """A copy of the trained model folder and a bigram LM of its words built beside it (skips without KenLM)."""
    import shutil

    from asr.lm import kenlm_available
    if not kenlm_available():
        pytest.skip("KenLM's lmplz and build_binary not found (run scripts/build_kenlm.sh, or set ASR_KENLM_BIN)")
    output, _ = trained
    model = tmp_path / "model"
    shutil.copytree(output, model)
    text = tmp_path / "text.txt"
    text.write_text("low high top\nhigh top low\ntop low high\nlow low high\n" * 5)
    assert main(["lm", "build", "--text", str(text), "--order", "2", "--output", str(tmp_path / "lm"),
                 "--discount-fallback", "--memory", "64M"]) == 0
    return model, tmp_path / "lm"


def test_lm_tune_stores_the_best_weights_and_evaluate_then_uses_the_lm(trained, tmp_path, capsys):
    model, lm = _model_copy_and_lm(trained, tmp_path)
    manifest = trained[1]
    code = main(["lm", "tune", "--model", str(model), "--manifest", str(manifest), "--lm", str(lm),
                 "--alphas", "0.5", "1.0", "--betas", "0", "1", "--beam-width", "8", "--store-beam-width", "12",
                 "--jobs", "2"])
    assert code == 0
    best = json.loads(capsys.readouterr().out.splitlines()[-1])
    decoding = json.loads((model / "decoding.json").read_text())
    assert (decoding["alpha"], decoding["beta"]) == (best["alpha"], best["beta"])
    assert decoding["alpha"] in (0.5, 1.0) and decoding["beta"] in (0, 1)
    assert decoding["beam_width"] == 12
    assert decoding["tuned_on"] == [str(manifest)] and decoding["kind"] == "lm"
    assert decoding["lm_path"] == "lm/lm.bin" and (model / decoding["lm_path"]).is_file()  # relative to the folder
    assert main(["evaluate", str(manifest), "--model", str(model), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["decoder"] == "lm"


def test_lm_tuning_in_parallel_processes_scores_the_grid_as_one_process_does(trained, tmp_path):
    from asr.tuning import install_language_model, tune_lm_weights

    model, lm = _model_copy_and_lm(trained, tmp_path)
    manifest = trained[1]
    install_language_model(model, lm)
    grid = {"alphas": (0.0, 0.5, 2.0), "betas": (-2.0, 0.0, 3.0), "beam_width": 8}
    alone = tune_lm_weights(load_model(model), [manifest], **grid)
    parallel = tune_lm_weights(load_model(model), [manifest], jobs=3, **grid)
    assert parallel == alone and len(alone.grid) == 9
    with pytest.raises(ValueError, match="jobs must be a positive"):
        tune_lm_weights(load_model(model), [manifest], jobs=0, **grid)
