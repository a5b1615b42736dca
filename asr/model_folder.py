"""Model folders: everything inference needs, read back and checked.

A model folder (written by :func:`asr.training.train`) holds ``model.keras``
(the acoustic model, loaded in Keras' safe mode: no Lambda code, no pickles),
``config.json`` (the training config, whose ``features`` rebuild the exact
feature pipeline), ``normalizer.json`` and ``alphabet.json``. Optionally it
holds a language model under ``lm/`` and its decoder settings, a
:class:`asr.decoders.DecoderConfig`, in ``decoding.json`` (paths relative to
the folder); without that file it decodes with ``beam`` and the defaults.
It may also hold the acoustic model exported for ONNX Runtime
(``acoustic.onnx`` and ``acoustic.json``, :mod:`asr.export`), which
transcription then runs without importing TensorFlow (:mod:`asr.networks`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from os import PathLike
from pathlib import Path

from asr.alphabet import Alphabet
from asr.decoders import DecoderConfig
from asr.errors import ModelError
from asr.features import FeatureConfig, Normalizer
from asr.files import read_json_object
from asr.networks import KERAS_FILE, KerasNetwork, load_keras_model, load_network, stride_of

REQUIRED_FILES = (KERAS_FILE, "config.json", "normalizer.json", "alphabet.json")
DECODING_FILE = "decoding.json"  # the folder's DecoderConfig, optional
DEFAULT_MODEL = "default_model"  # folder inside the package
DEFAULT_STREAMING_MODEL = "default_streaming_model"  # the streaming_gru model shipped beside it, for live audio


@dataclass(frozen=True, eq=False)
class ModelFolder:
    """A loaded model folder.

    ``network`` runs the acoustic model (Keras, or the exported graph when
    there is one); ``acoustic`` is the Keras model itself, loaded on first use
    (training and weight surgery need it, transcription does not).
    """

    path: Path
    network: object  # asr.networks.KerasNetwork or OnnxNetwork
    features: FeatureConfig
    normalizer: Normalizer
    alphabet: Alphabet
    decoding: DecoderConfig  # its paths resolved against ``path``
    config: dict

    @property
    def frame_seconds(self) -> float:
        """Seconds of audio per output frame of the acoustic model."""
        return self.features.hop_ms / 1000 * stride_of(self.network)

    @cached_property
    def acoustic(self):
        """The Keras acoustic model (``model.keras``), loaded with TensorFlow on first use."""
        if isinstance(self.network, KerasNetwork):
            return self.network.model
        return load_keras_model(self.path / KERAS_FILE)


def default_model_path(*, streaming: bool = False) -> Path:
    """The model folder shipped inside the package: the offline model, or with ``streaming`` the streaming one."""
    return Path(str(resources.files("asr") / (DEFAULT_STREAMING_MODEL if streaming else DEFAULT_MODEL)))


def load_model_folder(path: str | PathLike | None = None, *, runtime: str = "auto",
                      streaming: bool = False) -> ModelFolder:
    """Load and check a model folder; ``None`` loads a model shipped with ``asr`` (see :func:`default_model_path`).

    ``runtime`` chooses how the acoustic model runs (:func:`asr.networks.load_network`):
    ``auto`` (the exported graph when there is a current one), ``onnx`` or ``keras``.

    Raises
    ------
    ModelError
        If a file is missing or cannot be read; the message names the file.
    """
    path = Path(path) if path is not None else default_model_path(streaming=streaming)
    if not path.is_dir():
        raise ModelError(f"{path}: no such model folder")
    missing = [name for name in REQUIRED_FILES if not (path / name).is_file()]
    if missing:
        raise ModelError(f"{path}: model folder lacks {', '.join(missing)}")
    config = read_json_object(path / "config.json")
    try:
        features = FeatureConfig.from_dict(config["features"])
    except (KeyError, TypeError, ValueError) as error:
        raise ModelError(f"{path / 'config.json'}: no usable 'features' section ({error})") from error
    network = load_network(path, runtime=runtime)
    normalizer = _load_part(Normalizer.load, path / "normalizer.json")
    alphabet = _load_part(Alphabet.load, path / "alphabet.json")
    decoding = read_decoding(path)
    _check_consistent(path, network, features, normalizer, alphabet)
    return ModelFolder(path=path, network=network, features=features, normalizer=normalizer, alphabet=alphabet,
                       decoding=decoding, config=config)


def _load_part(loader, path: Path):
    """Run a JSON loader, turning its failures into ModelError naming the file."""
    try:
        return loader(path)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ModelError(f"{path}: cannot read ({type(error).__name__}: {error})") from error


def read_decoding(folder: str | PathLike) -> DecoderConfig:
    """A model folder's decoder settings (``decoding.json``), its paths resolved against the folder.

    Older files (``lm`` for ``lm_path``, no ``kind``) are read as well; a
    folder without the file gets ``DecoderConfig.from_dict({})``: ``beam``
    with the default options.

    Raises
    ------
    ModelError
        If the file is not a JSON object of decoder settings; the message names it.
    """
    path = Path(folder) / DECODING_FILE
    values = read_json_object(path) if path.is_file() else {}
    try:
        return DecoderConfig.from_dict(values, folder=folder)
    except (TypeError, ValueError) as error:
        raise ModelError(f"{path}: unexpected decoder settings ({error})") from error


def write_decoding(folder: str | PathLike, config: DecoderConfig) -> None:
    """Store decoder settings as the folder's ``decoding.json`` (atomically, paths relative to the folder)."""
    config.save(Path(folder) / DECODING_FILE)


def _check_consistent(path: Path, network, features: FeatureConfig, normalizer: Normalizer,
                      alphabet: Alphabet) -> None:
    """The parts of a folder must agree on feature size and number of classes."""
    input_dim, classes = network.input_dim, network.num_classes
    if input_dim != features.dim or normalizer.mean.shape[0] != features.dim:
        raise ModelError(f"{path}: the model takes {input_dim} values a frame, the features give {features.dim} "
                         f"and the normaliser has {normalizer.mean.shape[0]}")
    if classes != alphabet.num_classes:
        raise ModelError(f"{path}: the model outputs {classes} classes, the alphabet has {alphabet.num_classes}")
