"""Checkpoint averaging: the mean weights of chosen epochs, as a model folder that loads and scores."""

from __future__ import annotations

import json

import numpy as np
import pytest

from asr.averaging import average_checkpoints, saved_epochs
from asr.cli import main
from asr.model_folder import load_model_folder
from asr.training import train
from test_training import _tiny_config, _tone_manifest


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny run of three epochs that keeps all three checkpoints."""
    folder = tmp_path_factory.mktemp("averaging")
    manifest = _tone_manifest(folder / "data", copies=2)
    return train(_tiny_config(manifest, folder / "run", epochs=3, keep_checkpoints=3), verbose=0)


def _weights(folder) -> list[np.ndarray]:
    return [np.asarray(w) for w in load_model_folder(folder).acoustic.get_weights()]


def test_training_keeps_as_many_checkpoints_as_asked(run):
    assert saved_epochs(run / "checkpoints") == [1, 2, 3]


def test_the_average_is_the_mean_of_the_chosen_epochs(run, tmp_path):
    for epochs, name in [([2], "two"), ([3], "three"), ([2, 3], "both")]:
        average_checkpoints(run, epochs=epochs, output=tmp_path / name, score_dev=False)
    two, three, both = (_weights(tmp_path / name) for name in ("two", "three", "both"))
    assert any(not np.allclose(a, b) for a, b in zip(two, three)), "epochs 2 and 3 should differ"
    for a, b, mean in zip(two, three, both):
        np.testing.assert_allclose(mean, (a.astype(np.float64) + b) / 2, rtol=1e-6, atol=1e-7)


def test_the_averaged_folder_is_a_scored_model_folder(run, tmp_path):
    record = average_checkpoints(run, epochs=[1, 2, 3], output=tmp_path / "avg")
    assert record["averaged_epochs"] == [1, 2, 3]
    assert 0.0 <= record["dev_cer"] <= 1.0 and "dev_wer_tones" in record
    assert json.loads((tmp_path / "avg" / "best.json").read_text()) == record
    folder = load_model_folder(tmp_path / "avg")
    assert folder.config == json.loads((run / "config.json").read_text())


def test_a_missing_epoch_is_named_with_those_there_are(run, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"epoch\(s\) \[7\]; there are \[1, 2, 3\]"):
        average_checkpoints(run, epochs=[2, 7], output=tmp_path / "avg")
    assert not (tmp_path / "avg").exists()
    with pytest.raises(ValueError, match="folder of its own"):
        average_checkpoints(run, epochs=[2], output=run)
    with pytest.raises(ValueError, match="at least one epoch"):
        average_checkpoints(run, epochs=[], output=tmp_path / "avg")


def test_the_command_averages_the_last_n(run, tmp_path, capsys):
    assert main(["average", str(run), "--last", "2", "--output", str(tmp_path / "avg"), "--no-dev"]) == 0
    assert json.loads(capsys.readouterr().out) == {"averaged_epochs": [2, 3]}
    assert main(["average", str(run), "--epochs", "9", "--output", str(tmp_path / "x")]) == 2
    assert "no checkpoint for epoch(s) [9]" in capsys.readouterr().err
    assert main(["average", str(tmp_path), "--last", "1", "--output", str(tmp_path / "y")]) == 2
    assert "not a training run" in capsys.readouterr().err


def test_resume_takes_the_new_number_of_checkpoints_to_keep(tmp_path):
    manifest = _tone_manifest(tmp_path / "data")
    output = train(_tiny_config(manifest, tmp_path / "run", epochs=2, keep_checkpoints=1), verbose=0)
    assert saved_epochs(output / "checkpoints") == [2]
    train(_tiny_config(manifest, tmp_path / "run", epochs=4, keep_checkpoints=3), resume=True, verbose=0)
    assert saved_epochs(output / "checkpoints") == [2, 3, 4]
