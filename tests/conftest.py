"""Shared fixtures: seeded tones and noise, audio files written in any format, the shared corpus,
and score matrices for the decoders."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ASR_SHARED", ROOT.parent / "shared"))
CORPUS = SHARED / "corpus"


def tone(seconds: float, *, sr: int = 16_000, frequency: float = 440.0, channels: int = 1) -> np.ndarray:
    """A sine tone at half scale, shape (n,) or (n, channels)."""
    t = np.arange(int(round(seconds * sr))) / sr
    samples = (0.5 * np.sin(2 * np.pi * frequency * t)).astype(np.float32)
    return samples if channels == 1 else np.repeat(samples[:, None], channels, axis=1)


def write_audio(path: Path, samples: np.ndarray, sr: int, *, format: str | None = None, subtype: str | None = None):
    """Write samples with libsndfile and return the path."""
    soundfile.write(str(path), samples, sr, format=format, subtype=subtype)
    return path


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded random generator, so failures reproduce."""
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The shared corpus folder; skips the test when it is not beside the checkout."""
    if not (CORPUS / "dev").is_dir():
        pytest.skip(f"shared corpus not found at {CORPUS} (set ASR_SHARED to the folder holding corpus/)")
    return CORPUS


def espeak_available() -> bool:
    """Whether espeak-ng can speak here."""
    return shutil.which("espeak-ng") is not None


def speak(text: str, path: Path, *, voice: str = "en-us", rate: int = 160) -> Path:
    """Synthesise ``text`` with espeak-ng into a wav file; skip the test without espeak-ng."""
    if not espeak_available():
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-w", str(path), text], check=True)
    return path


# Score matrices for the decoders: (frames, 29) log-probabilities over Alphabet().labels.

LABELS = [""] + list("abcdefghijklmnopqrstuvwxyz") + ["'", " "]  # Alphabet().labels
BLANK, SPACE, CLASSES = 0, LABELS.index(" "), len(LABELS)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Normalise logits over the last axis."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def random_log_probs(frames: int, seed: int, *, scale: float = 3.0) -> np.ndarray:
    """Tie-free random log-probabilities (continuous draws), blanks and spaces favoured so words form."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(frames, CLASSES)) * scale
    logits[:, BLANK] += 2.0
    logits[:, SPACE] += 1.5
    return log_softmax(logits)


def peaked_log_probs(classes: list[int], *, margin: float = 30.0, seed: int = 0) -> np.ndarray:
    """One given class per frame far above the others (which are small random noise)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(len(classes), CLASSES))
    logits[np.arange(len(classes)), classes] += margin
    return log_softmax(logits)


def spelled(text: str, *, frames_per_char: int = 2, p: float = 0.9) -> np.ndarray:
    """Log-probabilities that spell ``text``: each character for a few frames, then a blank."""
    rows = []
    for char in text:
        rows += [LABELS.index(char)] * frames_per_char + [BLANK]
    probs = np.full((len(rows), CLASSES), (1 - p) / (CLASSES - 1))
    probs[np.arange(len(rows)), rows] = p
    return np.log(probs)


def check_words(hypothesis, frames: int, frame_seconds: float) -> None:
    """Words spell the text; timings are ordered and inside the audio; confidences in [0, 1]."""
    assert hypothesis.text == " ".join(word.word for word in hypothesis.words)
    previous_end = 0.0
    for word in hypothesis.words:
        assert previous_end <= word.start < word.end <= frames * frame_seconds + 1e-9
        assert 0.0 <= word.confidence <= 1.0
        previous_end = word.end


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """A model folder trained for one epoch on three tones, and its manifest: (folder, manifest)."""
    from asr.training import train
    from test_training import _tiny_config, _tone_manifest

    folder = tmp_path_factory.mktemp("trained")
    manifest = _tone_manifest(folder / "data", copies=2)
    return train(_tiny_config(manifest, folder / "run", epochs=1), verbose=0), manifest
