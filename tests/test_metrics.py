"""WER and CER through jiwer on normalised text."""

from __future__ import annotations

import pytest

from asr import cer, error_rates, wer


def test_wer_counts_substitutions_deletions_and_insertions():
    rates = error_rates(["the cat sat on the mat", "hello"], ["the bat sat on mat", "hello big world"])
    assert (rates.substitutions, rates.deletions, rates.insertions, rates.hits) == (1, 1, 2, 5)
    assert rates.reference_words == 7
    assert rates.wer == pytest.approx(4 / 7)


def test_both_sides_are_normalised_the_same_way():
    assert wer("It's 5 o'clock!", "its five o'clock") == pytest.approx(1 / 3)
    assert wer("Hello, World", "hello world") == 0.0


def test_cer_counts_characters():
    assert cer("abcd", "abed") == pytest.approx(0.25)


def test_empty_hypothesis_is_all_deletions():
    assert wer("one two three", "") == 1.0


def test_empty_reference_counts_insertions():
    rates = error_rates(["", "a b"], ["extra words", "a b"])
    assert rates.insertions == 2 and rates.wer == 1.0


def test_mismatched_lengths_are_rejected():
    with pytest.raises(ValueError, match="as many hypotheses"):
        error_rates(["a"], [])
