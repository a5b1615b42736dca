"""Decoders: per-frame class scores to text."""

from __future__ import annotations

import numpy as np

from asr.alphabet import Alphabet


def greedy_decode(scores: np.ndarray, *, alphabet: Alphabet = Alphabet()) -> str:
    """Best class per frame, repeats merged, blanks dropped.

    Parameters
    ----------
    scores : np.ndarray [shape=(frames, num_classes)]
        Per-frame scores (probabilities, log-probabilities or logits).
    alphabet : Alphabet

    Returns
    -------
    str
        The transcript, spaces folded.
    """
    scores = np.asarray(scores)
    if scores.ndim != 2 or scores.shape[1] != alphabet.num_classes:
        raise ValueError(f"expected scores of shape (frames, {alphabet.num_classes}), got {scores.shape}")
    best = scores.argmax(axis=1)
    keep = np.ones(best.shape, dtype=bool)
    keep[1:] = best[1:] != best[:-1]
    return " ".join(alphabet.decode(best[keep]).split())
