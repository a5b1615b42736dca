"""Safety: a model folder cannot run code when loaded, and a manifest cannot make ``asr`` write outside its output.

Model folders hold a Keras zip loaded in safe mode and JSON files; nothing is unpickled. Output file
names come from the output folder and the names of the audio files, never from manifest contents.
"""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path, PurePath

import keras
import numpy as np
import pytest

from asr.cli import main
from asr.errors import ModelError
from asr.model_folder import load_model_folder
from asr.output import write_transcript
from asr.transcriber import Transcript

MARKER = "asr-safety-marker"


class _Payload:
    """Unpickling this creates a marker file: proof that code ran."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _copy(trained, tmp_path) -> Path:
    model, _ = trained
    folder = tmp_path / "model"
    shutil.copytree(model, folder)
    return folder


def test_a_model_with_lambda_code_is_refused(trained, tmp_path):
    folder = _copy(trained, tmp_path)
    marker = tmp_path / MARKER
    good = keras.saving.load_model(folder / "model.keras", compile=False)
    inputs = keras.Input(good.input_shape[1:])
    target = str(marker)
    outputs = keras.layers.Lambda(lambda x: (open(target, "w").close(), x)[1])(good(inputs))
    keras.Model(inputs, outputs).save(folder / "model.keras")
    marker.unlink()  # building the model ran the function once
    with pytest.raises(ModelError, match="cannot load the acoustic model.*(Lambda|safe_mode)"):
        load_model_folder(folder)
    assert not marker.exists()


@pytest.mark.parametrize("part", ["normalizer.json", "alphabet.json", "config.json", "decoding.json"])
def test_a_pickle_in_place_of_a_json_file_is_an_error_and_never_unpickled(trained, tmp_path, part):
    folder = _copy(trained, tmp_path)
    marker = tmp_path / MARKER
    (folder / part).write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(ModelError, match=part):
        load_model_folder(folder)
    assert not marker.exists()


def test_a_keras_config_naming_an_arbitrary_function_is_refused(trained, tmp_path):
    """A .keras zip whose config asks for ``os.system``: Keras only builds its own registered classes."""
    import zipfile

    folder = _copy(trained, tmp_path)
    archive = folder / "model.keras"
    with zipfile.ZipFile(archive) as source:
        members = {name: source.read(name) for name in source.namelist()}
    config = json.loads(members["config.json"])
    config["config"]["layers"][-1].update(module="os", class_name="system", registered_name=None)
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(archive, "w") as target:
        for name, data in members.items():
            target.writestr(name, data)
    with pytest.raises(ModelError, match="cannot load the acoustic model"):
        load_model_folder(folder)


@pytest.mark.parametrize("name", ["../escape", "/tmp/escape", "a/../../escape"])
def test_an_output_name_cannot_leave_the_output_folder(tmp_path, name):
    transcript = Transcript(text="x", duration=1.0, words=(), source="clip.wav")
    with pytest.raises(ValueError, match="outside the output folder"):
        write_transcript(transcript, "txt", output_dir=tmp_path / "out", name=PurePath(name))
    assert not (tmp_path / "escape.txt").exists() and not Path("/tmp/escape.txt").exists()


def test_manifest_contents_never_choose_where_files_are_written(trained, tmp_path, monkeypatch):
    """Lines whose paths and extra keys point outside: evaluate and benchmark write only where they were told."""
    model, manifest = trained
    work = tmp_path / "a" / "b" / "c" / "work"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)  # relative escapes from here or from the manifest's folder stay inside tmp_path
    lines = [{"audio_filepath": str(manifest.parent / "low.wav"), "duration": 1.0, "text": "low",
              "output": "../../escaped.txt", "output_dir": "../../escaped", "id": "../../../escaped"},
             {"audio_filepath": "../../../escaped.wav", "duration": 1.0, "text": "gone"}]
    hostile = work / "hostile.jsonl"
    hostile.write_text("".join(json.dumps(line) + "\n" for line in lines))
    before = set(tmp_path.rglob("*"))
    details, results = work / "details.jsonl", work / "bench"
    assert main(["evaluate", str(hostile), "--model", str(model), "--decoder", "greedy",
                 "--details", str(details)]) == 1  # one line skipped: its audio is not there
    assert main(["benchmark", "--model", str(model), "--decoder", "greedy", "--manifest", str(hostile),
                 "--output", str(results), "--no-charts"]) == 1
    created = set(tmp_path.rglob("*")) - before
    assert details in created and all(path == details or path.is_relative_to(results) for path in created)
    assert not list(tmp_path.rglob("escaped*"))


def test_a_pickle_planted_in_the_feature_cache_is_never_loaded(trained, tmp_path, caplog):
    """The cache is .npy arrays read with allow_pickle=False; a planted object array is recomputed over."""
    from asr.data import cached_features
    from asr.features import FeatureConfig
    from asr.manifest import read_manifest

    _, manifest = trained
    utterances, config, cache = list(read_manifest(manifest)), FeatureConfig(kind="logmel"), tmp_path / "cache"
    first = cached_features(utterances, config, cache_dir=cache, workers=1)
    (table,) = [path.parent for path in cache.rglob("lengths.npy")]
    payload = np.array([_Payload(tmp_path / MARKER)], dtype=object)
    np.save(table / "lengths.npy", payload, allow_pickle=True)
    again = cached_features(utterances, config, cache_dir=cache, workers=1)
    assert not (tmp_path / MARKER).exists() and "damaged feature cache" in caplog.text
    assert np.array_equal(again.lengths, first.lengths) and np.array_equal(again.values, first.values)
