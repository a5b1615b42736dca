"""CTC alignments: which frames carry which symbol, where words lie, and how sure the model was.

A CTC *path* gives one class per output frame; collapsing repeats and dropping
blanks turns it into text. These helpers find the most likely path for a given
text (Viterbi), cut a path into words with their frame spans, and turn a span
into a confidence. Frames are output frames of the acoustic model; the
decoders turn them into seconds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from asr.alphabet import Alphabet

_STAY, _STEP, _SKIP = 0, 1, 2  # back-pointers: from the same state, the previous one, or two back


def best_path(log_probs: np.ndarray, ids: Sequence[int], *, blank_index: int, tight: bool = False) -> np.ndarray:
    """The most likely CTC path through ``log_probs`` that collapses to ``ids`` (Viterbi).

    Parameters
    ----------
    log_probs : np.ndarray [shape=(frames, num_classes)]
        Finite per-frame log-probabilities.
    ids : sequence of int
        The class ids the path must spell, blanks excluded; may hold repeats.
    blank_index : int
        Class index of the blank.
    tight : bool
        If True the path must start on the first symbol and end on the last
        (no blank at either edge), as inside a word's frame span.

    Returns
    -------
    np.ndarray [shape=(frames,), dtype=int64]
        The class of each frame.

    Raises
    ------
    ValueError
        If no path of ``frames`` frames spells ``ids`` (too few frames, or
        ``tight`` with no symbols).

    Examples
    --------
    >>> log_probs = np.log(np.array([[0.6, 0.4], [0.7, 0.3], [0.2, 0.8]]))
    >>> best_path(log_probs, [1], blank_index=0).tolist()
    [0, 0, 1]
    """
    states = _states(ids, blank_index)
    frames = len(log_probs)
    if frames == 0 and len(ids) == 0 and not tight:
        return np.zeros(0, dtype=np.int64)
    score, back = _viterbi(log_probs[:, states], _first_scores(log_probs, states, tight),
                           no_skip=~_skip_allowed(states, blank_index))
    last = _last_state(score, tight)
    if last is None:
        raise ValueError(f"no CTC path of {frames} frames spells {len(ids)} symbols {list(ids)!r}"
                         f"{' edge to edge' if tight else ''}")
    return states[_backtrack(back, last)]


def path_words(path: np.ndarray, *, alphabet: Alphabet = Alphabet()) -> list[tuple[str, int, int]]:
    """Cut a CTC path into words with their frame spans.

    Parameters
    ----------
    path : np.ndarray [shape=(frames,), dtype=int]
        One class per frame.
    alphabet : Alphabet
        Gives the blank and the space (the word separator).

    Returns
    -------
    list of (str, int, int)
        Each word with its first frame and one past its last frame: the span
        runs from the first frame of its first character to the last frame of
        its last character. Spans are disjoint and in order.

    Examples
    --------
    >>> a = Alphabet()
    >>> path = np.array([0, 8, 0, 9, 9, 28, 0, 1])  # blank h blank i i space blank a
    >>> path_words(path, alphabet=a)
    [('hi', 1, 5), ('a', 7, 8)]
    """
    labels = alphabet.labels
    words, chars, start, end = [], [], 0, 0
    for cls, run_start, run_stop in _runs(np.asarray(path)):
        label = labels[cls]
        if cls == alphabet.blank_index:
            continue
        if label == " ":
            _flush(words, chars, start, end)
            chars = []
            continue
        if not chars:
            start = run_start
        chars.append(label)
        end = run_stop
    _flush(words, chars, start, end)
    return words


def path_confidence(log_probs: np.ndarray, path: np.ndarray) -> float:
    """Geometric mean of the probability of the class ``path`` takes in each frame, in [0, 1].

    Parameters
    ----------
    log_probs : np.ndarray [shape=(frames, num_classes)]
        Per-frame log-probabilities.
    path : np.ndarray [shape=(frames,), dtype=int]
        One class per frame.

    Returns
    -------
    float
        ``exp(mean_t log_probs[t, path[t]])``; 0 for no frames.
    """
    if len(path) == 0:
        return 0.0
    mean = float(np.mean(log_probs[np.arange(len(path)), path]))
    return float(min(1.0, np.exp(mean)))


def word_confidence(log_probs: np.ndarray, ids: Sequence[int], *, blank_index: int) -> float:
    """Confidence of a word over its frame span, in [0, 1].

    The geometric mean, over the span's frames, of the probability of the
    class that the word's most likely alignment (:func:`best_path`, edge to
    edge) emits there, blanks between its letters included. On the frames of
    a greedy (best path) transcript this is the mean best-class probability.

    Parameters
    ----------
    log_probs : np.ndarray [shape=(frames, num_classes)]
        Finite log-probabilities of the word's frames only.
    ids : sequence of int
        The word's class ids.
    blank_index : int
        Class index of the blank.

    Returns
    -------
    float
        0 when the span cannot hold the word (never for spans a decoder gives).
    """
    try:
        path = best_path(log_probs, ids, blank_index=blank_index, tight=True)
    except ValueError:
        return 0.0
    return path_confidence(log_probs, path)


def _states(ids: Sequence[int], blank_index: int) -> np.ndarray:
    """The CTC state sequence: blank, symbol, blank, ..., symbol, blank."""
    states = np.full(2 * len(ids) + 1, blank_index, dtype=np.int64)
    states[1::2] = np.asarray(ids, dtype=np.int64)
    return states


def _skip_allowed(states: np.ndarray, blank_index: int) -> np.ndarray:
    """Where a path may jump two states: onto a symbol that differs from the one two back."""
    allowed = np.zeros(len(states), dtype=bool)
    allowed[2:] = (states[2:] != blank_index) & (states[2:] != states[:-2])
    return allowed


def _first_scores(log_probs: np.ndarray, states: np.ndarray, tight: bool) -> np.ndarray:
    """Scores after the first frame: a path starts on the leading blank or the first symbol."""
    score = np.full(len(states), -np.inf)
    for state in [1] if tight else [0, 1]:
        if len(log_probs) and state < len(states):
            score[state] = log_probs[0, states[state]]
    return score


def _viterbi(emit: np.ndarray, score: np.ndarray, *, no_skip: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Best score of each state after the last frame, and the back-pointers of every frame."""
    back = np.zeros(emit.shape, dtype=np.int8)
    step, skip = np.full(len(score), -np.inf), np.full(len(score), -np.inf)
    for t in range(1, len(emit)):
        step[1:], skip[2:] = score[:-1], score[:-2]  # arriving from one and from two states back
        skip[no_skip] = -np.inf
        best = np.maximum(score, step)
        back[t] = np.where(step > score, _STEP, _STAY)
        jump = skip > best
        best[jump], back[t, jump] = skip[jump], _SKIP
        score = best + emit[t]
    return score, back


def _last_state(score: np.ndarray, tight: bool) -> int | None:
    """The better of the allowed final states, or None when neither is reachable."""
    ends = [len(score) - 2] if tight else [len(score) - 1, len(score) - 2]
    ends = [end for end in ends if end >= 0 and np.isfinite(score[end])]
    return max(ends, key=lambda end: score[end]) if ends else None


def _backtrack(back: np.ndarray, last: int) -> np.ndarray:
    """State index per frame, following back-pointers from ``last``."""
    states = np.empty(len(back), dtype=np.int64)
    state = last
    for t in range(len(back) - 1, -1, -1):
        states[t] = state
        state -= back[t, state]
    return states


def _runs(path: np.ndarray):
    """(class, first frame, one past last frame) of each run of equal classes."""
    if len(path) == 0:
        return []
    bounds = np.flatnonzero(np.diff(path)) + 1
    starts = np.concatenate([[0], bounds])
    stops = np.concatenate([bounds, [len(path)]])
    return zip(path[starts].tolist(), starts.tolist(), stops.tolist())


def _flush(words: list, chars: list[str], start: int, end: int) -> None:
    """Append the word being built, if any."""
    if chars:
        words.append(("".join(chars), start, end))
