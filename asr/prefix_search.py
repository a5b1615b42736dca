"""CTC prefix beam search with an optional KenLM model, fed frames a chunk at a time.

pyctcdecode's ``decode_beams`` reads a whole utterance in one call. A
:class:`PrefixSearch` runs the same search, step for step, on frames as they
arrive: it carries the beams, the language model's cached states and the
frame count between calls, so a live stream can show the language model's
best reading after every chunk instead of searching the open segment again
from its start. Fed an utterance in chunks of any sizes it returns the beams
``decode_beams`` returns for the whole utterance (tested), and the ``beam``
and ``lm`` decoders use it for files too, so there is one search.

The search is pyctcdecode 0.5's (``BeamSearchDecoderCTC._decode_logits``
with ``prune_history=False``, character labels), built from that version's
own beam helpers; ``requirements.txt`` pins it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_BLANK = ""  # pyctcdecode's label for the CTC blank


class PrefixSearch:
    """One utterance's prefix beam search, a chunk of frames at a time.

    Parameters
    ----------
    decoder : pyctcdecode.decoder.BeamSearchDecoderCTC
        Labels and language model (``None`` inside it for a plain beam search).
    beam_width : int
        Prefixes kept after each frame.
    beam_prune_logp : float
        Prefixes this far (natural log) below the best are dropped.
    token_min_logp : float
        Classes below this log-probability in a frame are not expanded, unless the frame's best.
    hotwords : sequence of str
        Words or phrases to favour, each occurrence worth ``hotword_weight``.
    hotword_weight : float
    """

    def __init__(self, decoder, *, beam_width: int, beam_prune_logp: float, token_min_logp: float,
                 hotwords: Sequence[str] = (), hotword_weight: float):
        from pyctcdecode.constants import MIN_TOKEN_CLIP_P
        from pyctcdecode.decoder import EMPTY_START_BEAM
        from pyctcdecode.language_model import HotwordScorer

        self._decoder = decoder
        self._beam_width = beam_width
        self._beam_prune_logp = beam_prune_logp
        self._token_min_logp = token_min_logp
        self._floor = np.log(MIN_TOKEN_CLIP_P)
        self._hotwords = HotwordScorer.build_scorer(list(hotwords) or None, weight=hotword_weight)
        language_model = decoder._language_model
        start_state = None if language_model is None else language_model.get_start_state()
        self._lm_scores = {("", False): (0.0, 0.0, start_state)}  # (text, ended) -> (score, raw LM score, state)
        self._partial_word_scores: dict[str, float] = {}
        self._beams = [EMPTY_START_BEAM]
        self._scored = [EMPTY_START_BEAM + (0.0,)]  # the beams with their combined scores, best first
        self.frames = 0  # frames searched so far

    def advance(self, log_probs: np.ndarray) -> None:
        """Search the next frames.

        Parameters
        ----------
        log_probs : np.ndarray [shape=(frames, num_classes)]
            Log-probabilities or logits (each row is normalised); ``frames`` may be 0.
        """
        from pyctcdecode.decoder import _log_softmax

        for column in np.clip(_log_softmax(np.asarray(log_probs), axis=1), self._floor, 0):  # as decode_beams does
            self._step(column)

    def best_text(self) -> str:
        """The best prefix so far, the word it is spelling included (a partial transcript)."""
        text, _, word_part, *_ = self._scored[0]
        return " ".join(f"{text} {word_part}".split())

    def finish(self) -> list[tuple[str, list[tuple[str, tuple[int, int]]], float]]:
        """End the utterance: score each prefix's last word as ended; the results, best first.

        Returns
        -------
        list of (text, word frames, score)
            The text; each word with its ``(first frame, one past last frame)``;
            the combined acoustic, language model and hotword score (natural log).
        """
        from pyctcdecode.decoder import _merge_beams, _normalize_whitespace

        ended = []
        for text, _, word_part, _, word_frames, part_frames, logit_score in self._beams:
            frames = word_frames if word_part == "" else word_frames + [part_frames]
            ended.append((text, word_part, "", None, frames, (-1, -1), logit_score))
        scored = self._pruned(_merge_beams(ended), ended=True)
        return [(_normalize_whitespace(text), list(zip(text.split(), word_frames)), score)
                for text, _, _, _, word_frames, _, _, score in scored]

    def _step(self, column: np.ndarray) -> None:
        """Extend every beam by one frame, then score and prune (pyctcdecode's loop body)."""
        from pyctcdecode.decoder import _merge_beams

        labels = self._decoder._idx2vocab
        index = self.frames
        candidates = set(np.where(column >= self._token_min_logp)[0]) | {column.argmax()}
        extended = []
        for label_index in candidates:
            p_label = column[label_index]
            label = labels[label_index]
            for beam in self._beams:
                extended.append(_extend(beam, label, p_label, index))
        self._scored = self._pruned(_merge_beams(extended), ended=False)
        self._beams = [beam[:-1] for beam in self._scored]
        self.frames += 1

    def _pruned(self, beams: list, *, ended: bool) -> list:
        """The beams scored with the language model and hotwords, the weak ones dropped, best first."""
        from pyctcdecode.decoder import _sort_and_trim_beams

        scored = self._decoder._get_lm_beams(beams, self._hotwords, self._lm_scores, self._partial_word_scores,
                                             is_eos=ended)
        best = max(beam[-1] for beam in scored)
        scored = [beam for beam in scored if beam[-1] >= best + self._beam_prune_logp]
        return _sort_and_trim_beams(scored, self._beam_width)


def _extend(beam: tuple, label: str, p_label: float, index: int) -> tuple:
    """One beam after frame ``index`` emits ``label`` with log-probability ``p_label``.

    A beam is pyctcdecode's tuple: (text, next word, word being spelled, last
    label, frames of each finished word, frames of the word being spelled,
    acoustic score).
    """
    text, next_word, word_part, last_label, word_frames, part_frames, score = beam
    score += p_label
    if label == _BLANK:
        return text, next_word, word_part, label, word_frames, part_frames, score
    if label == last_label:  # a repeat: the same label stretched over one more frame
        return text, next_word, word_part, label, word_frames, (part_frames[0], index + 1), score
    if label == " ":
        frames = word_frames if word_part == "" else word_frames + [part_frames]
        return text, word_part, "", label, frames, (-1, -1), score
    part_frames = (index, index + 1) if part_frames[0] < 0 else (part_frames[0], index + 1)
    return text, next_word, word_part + label, label, word_frames, part_frames, score
