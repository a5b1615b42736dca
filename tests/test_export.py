"""Exported acoustic models: ONNX run without TensorFlow, SavedModel, staleness, same transcripts."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from asr.errors import ModelError
from asr.export import check_batch, export_model
from asr.frames import TimeStep, output_frames
from asr.model_folder import default_model_path, load_model_folder
from asr.networks import EXPORT_INFO_FILE, ONNX_FILE, KerasNetwork, OnnxNetwork, output_lengths
from conftest import espeak_available, speak


@pytest.fixture(scope="module")
def exported(trained, tmp_path_factory):
    """A copy of the trained tone model with its acoustic model exported to ONNX."""
    folder = tmp_path_factory.mktemp("exported") / "model"
    shutil.copytree(trained[0], folder)
    report = export_model(folder)
    return folder, report


def test_onnx_export_gives_the_keras_log_probs_on_a_padded_batch(exported):
    folder, report = exported
    assert report.path == folder / ONNX_FILE and report.bytes > 0
    onnx, keras = load_model_folder(folder), load_model_folder(folder, runtime="keras")
    assert isinstance(onnx.network, OnnxNetwork) and isinstance(keras.network, KerasNetwork)
    batch = check_batch(onnx.network.input_dim)[:, :250]
    batch[1, 120:] = 0
    expected, actual = keras.network.log_probs(batch), onnx.network.log_probs(batch)
    assert actual.shape == expected.shape
    for row, frames in enumerate(output_lengths(keras.network, np.array([250, 120, 64]))):
        np.testing.assert_allclose(actual[row, :frames], expected[row, :frames], atol=1e-4)
    info = json.loads((folder / EXPORT_INFO_FILE).read_text())
    assert info["max_abs_difference"] == report.max_abs_difference < 1e-4
    assert onnx.frame_seconds == keras.frame_seconds
    assert onnx.network.parameters == keras.network.parameters > 0


def test_a_retrained_model_is_never_run_with_its_old_graph(exported, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(exported[0], folder)
    keras_model = load_model_folder(folder, runtime="keras").acoustic
    keras_model.layers[-2].set_weights([w + 0.5 for w in keras_model.layers[-2].get_weights()])
    keras_model.save(folder / "model.keras")
    assert isinstance(load_model_folder(folder).network, KerasNetwork)
    with pytest.raises(ModelError, match="exported from another model.keras"):
        load_model_folder(folder, runtime="onnx")


def test_onnx_runtime_without_an_export_says_how_to_make_one(trained):
    with pytest.raises(ModelError, match="asr export"):
        load_model_folder(trained[0], runtime="onnx")


def test_saved_model_serves_the_same_log_probs(trained, tmp_path):
    report = export_model(trained[0], format="savedmodel", output=tmp_path / "served")
    assert (tmp_path / "served" / "saved_model.pb").is_file()
    assert report.max_abs_difference < 1e-4


def test_export_rejects_an_unknown_format_or_quantisation(trained):
    with pytest.raises(ValueError, match="format"):
        export_model(trained[0], format="tflite")
    with pytest.raises(ValueError, match="quantize"):
        export_model(trained[0], format="savedmodel", quantize="int8")


def test_time_steps_give_keras_output_lengths():
    steps = (TimeStep(added=10), TimeStep(kernel=11, stride=2), TimeStep(kernel=3, stride=3, padding="same"))
    assert output_frames(steps, 101) == ((101 + 10 - 10 - 1) // 2 + 1 + 2) // 3
    with pytest.raises(ValueError, match="padding"):
        TimeStep(padding="reflect")


@pytest.mark.skipif(not (default_model_path() / ONNX_FILE).is_file(), reason="the bundled model is not exported")
def test_the_bundled_model_transcribes_without_importing_tensorflow(tmp_path):
    if not espeak_available():
        pytest.skip("espeak-ng not installed")
    audio = speak("the quick brown fox jumps over the lazy dog", tmp_path / "fox.wav")
    script = ("import sys, json, asr\n"
              "t = asr.load_model()\n"
              f"text = t.transcribe({str(audio)!r}, decoder='greedy').text\n"
              "print(json.dumps({'text': text, 'tensorflow': 'tensorflow' in sys.modules,"
              " 'network': type(t.folder.network).__name__}))\n")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["network"] == "OnnxNetwork"
    assert result["tensorflow"] is False
    from asr.transcriber import load_model

    assert result["text"] == load_model(runtime="keras").transcribe(audio, decoder="greedy").text
