"""Word and character error rates, computed by jiwer on normalised text."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import jiwer

from asr.text import normalize_text


@dataclass(frozen=True)
class ErrorRates:
    """Corpus-level error counts of hypotheses against references.

    Attributes
    ----------
    wer, cer : float
        Word and character error rate: (substitutions + deletions +
        insertions) / reference length, summed over the corpus.
    substitutions, deletions, insertions, hits : int
        Word-level edit counts.
    reference_words, reference_characters : int
        Length of the references.
    """

    wer: float
    cer: float
    substitutions: int
    deletions: int
    insertions: int
    hits: int
    reference_words: int
    reference_characters: int

    def to_dict(self) -> dict:
        """Plain values for JSON."""
        return asdict(self)


def error_rates(references: Sequence[str], hypotheses: Sequence[str]) -> ErrorRates:
    """Score hypotheses against references after normalising both the same way.

    Parameters
    ----------
    references, hypotheses : sequence of str
        Paired transcripts, same length.

    Returns
    -------
    ErrorRates
        Corpus-level WER, CER and word edit counts. A reference that is empty
        after normalising counts every hypothesis word as an insertion.

    Examples
    --------
    >>> error_rates(["the cat sat"], ["the cat sad"]).wer
    0.3333333333333333
    """
    if len(references) != len(hypotheses):
        raise ValueError(f"expected as many hypotheses as references, got {len(hypotheses)} and {len(references)}")
    pairs = [(normalize_text(r), normalize_text(h)) for r, h in zip(references, hypotheses)]
    scored = [(r, h) for r, h in pairs if r]
    stray_words = sum(len(h.split()) for r, h in pairs if not r)
    stray_characters = sum(len(h) for r, h in pairs if not r)
    words = _word_counts(scored)
    characters = _character_errors(scored)
    reference_words = sum(len(r.split()) for r, _ in scored)
    reference_characters = sum(len(r) for r, _ in scored)
    insertions = words["insertions"] + stray_words
    word_errors = words["substitutions"] + words["deletions"] + insertions
    return ErrorRates(
        wer=_rate(word_errors, reference_words),
        cer=_rate(characters + stray_characters, reference_characters),
        substitutions=words["substitutions"],
        deletions=words["deletions"],
        insertions=insertions,
        hits=words["hits"],
        reference_words=reference_words,
        reference_characters=reference_characters,
    )


def wer(reference: str | Sequence[str], hypothesis: str | Sequence[str]) -> float:
    """Word error rate of one transcript or a corpus, on normalised text."""
    return error_rates(*_as_lists(reference, hypothesis)).wer


def cer(reference: str | Sequence[str], hypothesis: str | Sequence[str]) -> float:
    """Character error rate of one transcript or a corpus, on normalised text."""
    return error_rates(*_as_lists(reference, hypothesis)).cer


def _as_lists(reference, hypothesis) -> tuple[list[str], list[str]]:
    """Wrap single strings as one-item corpora."""
    if isinstance(reference, str) != isinstance(hypothesis, str):
        raise TypeError("reference and hypothesis must both be strings or both be sequences")
    if isinstance(reference, str):
        return [reference], [hypothesis]
    return list(reference), list(hypothesis)


def _word_counts(pairs: list[tuple[str, str]]) -> dict[str, int]:
    """jiwer's word alignment counts summed over the pairs."""
    if not pairs:
        return {"substitutions": 0, "deletions": 0, "insertions": 0, "hits": 0}
    output = jiwer.process_words([r for r, _ in pairs], [h for _, h in pairs])
    return {"substitutions": output.substitutions, "deletions": output.deletions,
            "insertions": output.insertions, "hits": output.hits}


def _character_errors(pairs: list[tuple[str, str]]) -> int:
    """jiwer's character edits summed over the pairs."""
    if not pairs:
        return 0
    output = jiwer.process_characters([r for r, _ in pairs], [h for _, h in pairs])
    return output.substitutions + output.deletions + output.insertions


def _rate(errors: int, length: int) -> float:
    """errors / length, 0 for an empty corpus with no errors."""
    if length == 0:
        return 0.0 if errors == 0 else float("inf")
    return errors / length
