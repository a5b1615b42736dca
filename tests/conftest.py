"""Shared fixtures: seeded tones and noise, audio files written in any format, the shared corpus."""

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
