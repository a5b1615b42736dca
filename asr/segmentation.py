"""Cutting long audio at pauses into chunks the acoustic model handles well."""

from __future__ import annotations

import numpy as np

from asr.constants import SAMPLE_RATE

MAX_CHUNK_SECONDS = 20.0  # s: no chunk is longer
MIN_CHUNK_SECONDS = 8.0  # s: a cut is looked for only past this point of a chunk
ENERGY_WINDOW_SECONDS = 0.03  # s: the energy of the signal is measured over windows this long
SILENCE_PEAK_DBFS = -60.0  # dB below full scale: a chunk whose loudest sample stays under this holds no speech


def split_at_pauses(samples: np.ndarray, *, sr: int = SAMPLE_RATE, max_seconds: float = MAX_CHUNK_SECONDS,
                    min_seconds: float = MIN_CHUNK_SECONDS) -> list[tuple[int, int]]:
    """Chunk boundaries that fall in the quietest moments, every chunk at most ``max_seconds`` long.

    An energy-based voice-activity cut: within each stretch between
    ``min_seconds`` and ``max_seconds`` past the current chunk's start, the cut
    goes at the window of lowest RMS energy, and never so late that less than
    ``min_seconds`` would be left for the last chunk.

    Parameters
    ----------
    samples : np.ndarray [shape=(n,)]
    sr : int
        Hz.

    Returns
    -------
    list of (start, end)
        Sample indices, covering ``[0, n)`` without gaps or overlap.
    """
    if not 0 < min_seconds < max_seconds:
        raise ValueError(f"expected 0 < min_seconds < max_seconds, got {min_seconds} and {max_seconds}")
    window = max(1, int(ENERGY_WINDOW_SECONDS * sr))
    energy = _window_energy(samples, window)
    longest, shortest = int(max_seconds * sr), int(min_seconds * sr)
    chunks, start = [], 0
    while samples.size - start > longest:
        first = (start + shortest) // window
        last = max(first + 1, min(start + longest, samples.size - shortest) // window)
        quietest = first + int(np.argmin(energy[first:last]))
        end = quietest * window + window // 2
        chunks.append((start, end))
        start = end
    chunks.append((start, samples.size))
    return chunks


def _window_energy(samples: np.ndarray, window: int) -> np.ndarray:
    """RMS of consecutive windows, shape (ceil(n / window),)."""
    padded = np.pad(samples, (0, -samples.size % window))
    return np.sqrt(np.mean(padded.reshape(-1, window).astype(np.float64) ** 2, axis=1))


def is_silent(samples: np.ndarray, *, peak_dbfs: float = SILENCE_PEAK_DBFS) -> bool:
    """Whether no sample of ``samples`` (float, full scale 1.0) reaches ``peak_dbfs`` dB below full scale."""
    return samples.size == 0 or float(np.max(np.abs(samples))) < 10.0 ** (peak_dbfs / 20.0)
