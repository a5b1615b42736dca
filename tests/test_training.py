"""Training end to end: overfitting real (synthetic) speech, the model folder, resuming after a kill."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from asr import Alphabet, Normalizer, Utterance, write_manifest
from asr.data import cached_features
from asr.features import FeatureConfig
from asr.training import TrainConfig, greedy_transcripts, train
from conftest import speak, tone, write_audio

PHRASES = ["hello world", "good morning", "thank you", "see you later"]
TINY_MODEL = {"filters": 48, "units": 64, "layers": 1, "dropout": 0.0}


def _tone_manifest(folder, copies=1):
    folder.mkdir(parents=True, exist_ok=True)
    utterances = []
    for frequency, text in [(300, "low"), (900, "high"), (2000, "top")]:
        path = write_audio(folder / f"{text}.wav", tone(1.0, frequency=frequency), 16000)
        utterances += [Utterance(audio_filepath=path, duration=1.0, text=text)] * copies
    write_manifest(utterances, folder / "tones.jsonl")
    return folder / "tones.jsonl"


def _tiny_config(manifest, output, **changes):
    values = dict(train_manifests=(str(manifest),), dev_manifests=(str(manifest),), output=str(output),
                  model_options=TINY_MODEL, features=FeatureConfig(kind="logmel"), epochs=2, max_batch=4,
                  spec_augment=None, cache_dir=str(output.parent / "cache"), patience=0, learning_rate=3e-3)
    values.update(changes)
    return TrainConfig(**values)


@pytest.mark.slow
def test_cnn_bigru_overfits_synthetic_speech(tmp_path):
    utterances = []
    for i, text in enumerate(PHRASES):
        path = speak(text, tmp_path / f"{i}.wav")
        utterances += [Utterance(audio_filepath=path, duration=1.0, text=text)] * 8
    write_manifest(utterances, tmp_path / "speech.jsonl")
    config = _tiny_config(tmp_path / "speech.jsonl", tmp_path / "run", epochs=40, learning_rate=5e-3,
                          model_options={**TINY_MODEL, "units": 96})
    output = train(config, verbose=0)

    history = json.loads((output / "history.json").read_text())
    assert history[-1]["loss"] < 0.05 * history[0]["loss"]
    acoustic = keras.saving.load_model(output / "model.keras", safe_mode=True)
    table = cached_features(utterances[::8], config.features, cache_dir=config.cache_dir)
    transcripts = greedy_transcripts(acoustic, table, Normalizer.load(output / "normalizer.json"), Alphabet())
    assert transcripts == PHRASES


def test_the_model_folder_is_self_contained_and_training_resumes(tmp_path):
    manifest = _tone_manifest(tmp_path / "data", copies=4)
    config = _tiny_config(manifest, tmp_path / "run")
    output = train(config, verbose=0)
    for name in ("config.json", "model.keras", "normalizer.json", "alphabet.json", "best.json", "history.csv"):
        assert (output / name).is_file(), name
    assert TrainConfig.load(output / "config.json") == config
    assert sorted(p.name for p in (output / "checkpoints").iterdir()) == [
        "epoch-0001.json", "epoch-0001.weights.h5", "epoch-0002.json", "epoch-0002.weights.h5"]

    with pytest.raises(FileExistsError, match="--resume"):
        train(config, verbose=0)
    train(_tiny_config(manifest, tmp_path / "run", epochs=3), resume=True, verbose=0)
    history = json.loads((output / "history.json").read_text())
    assert [record["epoch"] for record in history] == [1, 2, 3]
    assert {"dev_wer", "dev_cer", "loss", "learning_rate"} <= set(history[-1])


def test_a_damaged_newest_checkpoint_is_passed_over(tmp_path, caplog):
    manifest = _tone_manifest(tmp_path / "data")
    output = train(_tiny_config(manifest, tmp_path / "run"), verbose=0)
    (output / "checkpoints" / "epoch-0002.weights.h5").write_bytes(b"half a file")
    train(_tiny_config(manifest, tmp_path / "run", epochs=3), resume=True, verbose=0)
    assert "epoch-0002.weights.h5: cannot load checkpoint" in caplog.text
    history = json.loads((output / "history.json").read_text())
    assert [record["epoch"] for record in history] == [1, 2, 3]


def test_resuming_a_run_whose_checkpoints_are_gone_refuses_to_overwrite_it(tmp_path):
    manifest = _tone_manifest(tmp_path / "data")
    output = train(_tiny_config(manifest, tmp_path / "run"), verbose=0)
    for checkpoint in (output / "checkpoints").iterdir():
        checkpoint.unlink()
    model = (output / "model.keras").read_bytes()
    with pytest.raises(FileExistsError, match="no checkpoint is left"):
        train(_tiny_config(manifest, tmp_path / "run", epochs=3), resume=True, verbose=0)
    assert (output / "model.keras").read_bytes() == model
    assert len(json.loads((output / "history.json").read_text())) == 2


def test_resuming_a_finished_run_leaves_it_as_it_is_without_its_data_or_checkpoints(tmp_path):
    manifest = _tone_manifest(tmp_path / "data")
    output = train(_tiny_config(manifest, tmp_path / "run"), verbose=0)
    for checkpoint in (output / "checkpoints").iterdir():
        checkpoint.unlink()
    for clip in (tmp_path / "data").glob("*.wav"):
        clip.unlink()
    model = (output / "model.keras").read_bytes()
    assert train(_tiny_config(manifest, tmp_path / "run"), resume=True, verbose=0) == output
    assert (output / "model.keras").read_bytes() == model
    assert len(json.loads((output / "history.json").read_text())) == 2


def test_fine_tuning_starts_from_the_weights_and_normaliser_of_a_model_folder(tmp_path):
    manifest = _tone_manifest(tmp_path / "data", copies=4)
    start = train(_tiny_config(manifest, tmp_path / "start"), verbose=0)
    other = _tone_manifest(tmp_path / "other")  # different data: its own statistics would differ
    tuned = train(_tiny_config(other, tmp_path / "tuned", epochs=1, init_from=str(start), learning_rate=1e-5,
                               final_learning_rate=1e-7), verbose=0)

    assert (tuned / "normalizer.json").read_text() == (start / "normalizer.json").read_text()
    before = keras.saving.load_model(start / "model.keras").trainable_weights
    after = keras.saving.load_model(tuned / "model.keras").trainable_weights
    # three Adam steps at a learning rate of at most 1e-5 move each weight by about 3e-5
    assert max(float(np.abs(a.numpy() - b.numpy()).max()) for a, b in zip(before, after)) < 1e-4
    assert TrainConfig.load(tuned / "config.json").init_from == str(start)


def test_fine_tuning_refuses_a_model_folder_of_another_shape(tmp_path):
    manifest = _tone_manifest(tmp_path / "data")
    start = train(_tiny_config(manifest, tmp_path / "start", epochs=1), verbose=0)
    wider = _tiny_config(manifest, tmp_path / "tuned", init_from=str(start),
                         model_options={**TINY_MODEL, "units": 96})
    with pytest.raises(ValueError, match="model_options.*units"):
        train(wider, verbose=0)


def test_fine_tuning_may_change_options_that_carry_no_weights(tmp_path):
    manifest = _tone_manifest(tmp_path / "data")
    start = train(_tiny_config(manifest, tmp_path / "start", epochs=1), verbose=0)
    normalised = {**TINY_MODEL, "dropout": 0.2, "utterance_norm": "mean"}
    tuned = train(_tiny_config(manifest, tmp_path / "tuned", epochs=1, init_from=str(start),
                               model_options=normalised), verbose=0)

    model = keras.saving.load_model(tuned / "model.keras")
    assert "utterance_norm" in [layer.name for layer in model.layers]
    assert TrainConfig.load(tuned / "config.json").model_options == normalised


def test_asr_train_init_from_takes_the_model_and_features_of_the_folder(tmp_path, capsys):
    from asr.cli import main

    manifest = _tone_manifest(tmp_path / "data")
    start = train(_tiny_config(manifest, tmp_path / "start", epochs=1), verbose=0)
    common = ["train", "--train", str(manifest), "--epochs", "1", "--cache-dir", str(tmp_path / "cache"),
              "--init-from", str(start), "--progress", "epoch"]
    assert main(common + ["--output", str(tmp_path / "tuned")]) == 0
    tuned = TrainConfig.load(tmp_path / "tuned" / "config.json")
    assert (tuned.model_options, tuned.features, tuned.init_from) == (TINY_MODEL, FeatureConfig(kind="logmel"),
                                                                     str(start))

    assert main(common + ["--output", str(tmp_path / "other"), "--features", "mfcc"]) == 2
    assert "features" in capsys.readouterr().err and not (tmp_path / "other" / "checkpoints").exists()

    assert main(common + ["--output", str(tmp_path / "normalised"), "--option", "utterance_norm=mean"]) == 0
    assert TrainConfig.load(tmp_path / "normalised" / "config.json").model_options == {**TINY_MODEL,
                                                                                       "utterance_norm": "mean"}


@pytest.mark.slow
def test_a_run_killed_mid_training_resumes_losing_at_most_one_epoch(tmp_path):
    manifest = _tone_manifest(tmp_path / "data", copies=20)
    output = tmp_path / "run"
    command = [sys.executable, "-m", "asr", "train", "--train", str(manifest), "--output", str(output),
               "--features", "logmel", "--option", "units=32", "--option", "layers=1", "--epochs", "40",
               "--no-spec-augment", "--cache-dir", str(tmp_path / "cache"), "--progress", "epoch"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while not (output / "checkpoints" / "epoch-0003.weights.h5").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished = max(int(p.name[6:10]) for p in (output / "checkpoints").glob("epoch-*.weights.h5"))
    assert 3 <= finished < 40

    resumed = subprocess.run(command[:command.index("--epochs") + 1] + [str(finished + 2), "--resume",
                                                                         "--progress", "epoch"],
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"epoch {finished}" in resumed.stderr
    history = json.loads((output / "history.json").read_text())
    assert [record["epoch"] for record in history] == list(range(1, finished + 3))
    assert not list((output / "checkpoints").glob("*tmp-*"))


@pytest.mark.parametrize("history, best", [
    ([{"epoch": 1, "dev_wer": 0.99, "dev_cer": 0.87}, {"epoch": 2, "dev_wer": 1.0, "dev_cer": 0.68}], 2),
    ([{"epoch": 1, "dev_wer": 0.50, "dev_cer": 0.20}, {"epoch": 2, "dev_wer": 0.45, "dev_cer": 0.20}], 2),
    ([{"epoch": 1, "loss": 9.0}, {"epoch": 2, "loss": 3.0}, {"epoch": 3, "loss": 4.0}], 2),
    ([], None),
])
def test_the_best_epoch_has_the_lowest_dev_cer(history, best):
    from asr.training import _best_epoch

    found = _best_epoch(history)
    assert (found["epoch"] if found else None) == best


def test_asr_train_with_augmentation_warp_shares_and_agreed_labels(tmp_path):
    """Every speaker option from the command line into the saved config, and through one epoch of training."""
    from asr.cli import main

    manifest = _tone_manifest(tmp_path / "data")
    machine = [Utterance(audio_filepath=tmp_path / "data" / "low.wav", duration=1.0, text="low",
                         extra={"label": "whisper", "agree": agree}) for agree in (True, False)]
    write_manifest(machine, tmp_path / "data" / "machine.jsonl")
    arguments = ["train", "--train", str(manifest), str(tmp_path / "data" / "machine.jsonl"), "--epochs", "1",
                 "--features", "logmel", "--option", "units=16", "--option", "layers=1", "--option", "filters=8",
                 "--cache-dir", str(tmp_path / "cache"), "--output", str(tmp_path / "run"), "--progress", "epoch",
                 "--augment", "pitch", "noise", "--frequency-warp", "0.9", "1.1", "--source-share", "tones=0.5",
                 "--agreed-labels-only"]
    assert main(arguments) == 0
    config = TrainConfig.load(tmp_path / "run" / "config.json")
    assert [type(a).__name__ for a in config.augmentations] == ["PitchShift", "Noise"]
    assert set(config.augmentations[1].babble_files) <= {str(tmp_path / "data" / f"{n}.wav")
                                                          for n in ("low", "high", "top")}
    assert (config.frequency_warp.min_factor, config.frequency_warp.max_factor) == (0.9, 1.1)
    assert config.source_shares == {"tones": 0.5} and config.agreed_labels_only
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert len(list((tmp_path / "cache").iterdir())) == 3  # the plain, pitched and noisy copies
    assert main(arguments[:-3] + ["--source-share", "nosuch=0.5", "--output", str(tmp_path / "other")]) == 2
