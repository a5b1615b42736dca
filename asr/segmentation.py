"""Cutting long audio at pauses into chunks the acoustic model handles well."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from asr.constants import SAMPLE_RATE

MAX_CHUNK_SECONDS = 20.0  # s: no chunk is longer
MIN_CHUNK_SECONDS = 8.0  # s: a cut is looked for only past this point of a chunk
ENERGY_WINDOW_SECONDS = 0.03  # s: the energy of the signal is measured over windows this long
SILENCE_PEAK_DBFS = -60.0  # dB below full scale: a chunk whose loudest sample stays under this holds no speech


def split_at_pauses(samples: np.ndarray, *, sr: int = SAMPLE_RATE, max_seconds: float = MAX_CHUNK_SECONDS,
                    min_seconds: float = MIN_CHUNK_SECONDS, start: int = 0) -> list[tuple[int, int]]:
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
    start : int
        The sample to start from; what comes before it is not cut.

    Returns
    -------
    list of (start, end)
        Sample indices, covering ``[start, n)`` without gaps or overlap.
    """
    if not 0 < min_seconds < max_seconds:
        raise ValueError(f"expected 0 < min_seconds < max_seconds, got {min_seconds} and {max_seconds}")
    window = _energy_window(sr)
    energy = _window_energy(samples, window)
    longest, shortest = int(max_seconds * sr), int(min_seconds * sr)
    chunks = []
    while samples.size - start > longest:
        first = (start + shortest) // window
        last = max(first + 1, min(start + longest, samples.size - shortest) // window)
        quietest = first + int(np.argmin(energy[first:last]))
        end = quietest * window + window // 2
        chunks.append((start, end))
        start = end
    chunks.append((start, samples.size))
    return chunks


def split_stream(blocks: Iterable[np.ndarray], *, sr: int = SAMPLE_RATE) -> Iterator[tuple[int, np.ndarray]]:
    """Chunks of audio arriving block by block, cut exactly where :func:`split_at_pauses` cuts the whole.

    Only a tail of less than ``MAX_CHUNK_SECONDS + MIN_CHUNK_SECONDS`` plus one energy window is held
    back between blocks: a cut is made once every sample it depends on has arrived, and the energy
    windows stay on the grid they have in the whole signal.

    Parameters
    ----------
    blocks : iterable of np.ndarray [shape=(n_i,)]
        Consecutive samples at ``sr`` Hz, of any lengths.
    sr : int
        Hz.

    Yields
    ------
    (int, np.ndarray)
        The index of a chunk's first sample in the whole signal, and the chunk.
    """
    window = _energy_window(sr)
    settled = int(MAX_CHUNK_SECONDS * sr) + int(MIN_CHUNK_SECONDS * sr)  # a cut this far from the end is final
    held, offset, resume = np.zeros(0, dtype=np.float32), 0, 0  # offset: where ``held`` starts in the signal
    for block, last in _with_last(blocks):
        audio = np.concatenate([held, block])
        chunks = split_at_pauses(audio, sr=sr, start=resume)
        ready = chunks if last else [(start, end) for start, end in chunks if start + settled <= audio.size]
        for start, end in ready:
            yield offset + start, audio[start:end]
        done = ready[-1][1] if ready else resume
        aligned = done // window * window
        held, offset, resume = audio[aligned:], offset + aligned, done - aligned


def _with_last(items: Iterable) -> Iterator[tuple[object, bool]]:
    """Each item with whether it is the last one."""
    iterator = iter(items)
    try:
        current = next(iterator)
    except StopIteration:
        return
    for following in iterator:
        yield current, False
        current = following
    yield current, True


def _energy_window(sr: int) -> int:
    """Samples in one energy window."""
    return max(1, int(ENERGY_WINDOW_SECONDS * sr))


def _window_energy(samples: np.ndarray, window: int) -> np.ndarray:
    """RMS of consecutive windows, shape (ceil(n / window),)."""
    padded = np.pad(samples, (0, -samples.size % window))
    return np.sqrt(np.mean(padded.reshape(-1, window).astype(np.float64) ** 2, axis=1))


def is_silent(samples: np.ndarray, *, peak_dbfs: float = SILENCE_PEAK_DBFS) -> bool:
    """Whether audio is near-silent: no sample reaches ``peak_dbfs`` (dB relative to full scale 1.0).

    Parameters
    ----------
    samples : np.ndarray [shape=(n,)]
        Float samples, full scale 1.0.
    peak_dbfs : float
        dBFS; the default -60 is a peak of 0.001, far below any recorded speech.
    """
    return samples.size == 0 or float(np.max(np.abs(samples))) < 10.0 ** (peak_dbfs / 20.0)
