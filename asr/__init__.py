"""asr: CTC speech recognition with TensorFlow/Keras, from audio file to transcript."""

__version__ = "0.1.0"

from asr.alphabet import Alphabet
from asr.audio import audio_duration, load_audio
from asr.constants import BLANK_INDEX, NUM_CLASSES, SAMPLE_RATE
from asr.decoders import DecoderConfig, Hypothesis, Word, build_decoder
from asr.errors import AsrError, AudioError, LanguageModelError, ManifestError, ModelError, TextError
from asr.features import FeatureConfig, Normalizer, compute_features
from asr.lm import LmConfig, build_language_model
from asr.manifest import Manifest, Utterance, read_manifest, write_manifest
from asr.metrics import ErrorRates, cer, error_rates, wer
from asr.text import normalize_text

__all__ = [
    "Alphabet",
    "AsrError",
    "AudioError",
    "BLANK_INDEX",
    "DecoderConfig",
    "ErrorRates",
    "FeatureConfig",
    "Hypothesis",
    "LanguageModelError",
    "LmConfig",
    "Manifest",
    "ManifestError",
    "ModelError",
    "NUM_CLASSES",
    "Normalizer",
    "SAMPLE_RATE",
    "TextError",
    "Utterance",
    "Word",
    "audio_duration",
    "build_decoder",
    "build_language_model",
    "cer",
    "compute_features",
    "error_rates",
    "load_audio",
    "normalize_text",
    "read_manifest",
    "wer",
    "write_manifest",
]

_LAZY = {  # names whose modules are heavy (TensorFlow, ONNX Runtime), loaded on first use so `import asr` stays fast
    "load_model": "asr.transcriber",
    "Transcriber": "asr.transcriber",
    "Transcript": "asr.transcriber",
    "TrainConfig": "asr.training",
    "train": "asr.training",
    "build_model": "asr.models",
}
__all__ += sorted(_LAZY)


def __getattr__(name: str):
    """Import the TensorFlow-backed parts of the API on first use."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'asr' has no attribute {name!r}")
