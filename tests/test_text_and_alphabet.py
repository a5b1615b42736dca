"""The one normaliser and the alphabet built on it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asr import BLANK_INDEX, NUM_CLASSES, Alphabet, TextError, normalize_text
from asr.constants import SYMBOLS

CASES = [
    ("Hello, World!", "hello world"),
    ("  many    spaces\tand\nlines ", "many spaces and lines"),
    ("Don't stop—it's 'quoted'", "don't stop it's quoted"),
    ("It’s curly", "it's curly"),
    ("the 2nd of 3 cats", "the second of three cats"),
    ("pi is 3.14", "pi is three point one four"),
    ("1,000 people", "one thousand people"),
    ("$5 and £20", "five dollars and twenty pounds"),
    ("50% off & more", "fifty percent off and more"),
    ("café naïve", "cafe naive"),
    ("well-known e-mail", "well known e mail"),
    ("students' books", "students books"),
    ("Call 555-0123 or (212) 555-0199", "call five five five zero one two three or two one two five five five zero "
                                         "one nine nine"),
    ("born in 1999, moved in 2005", "born in nineteen ninety nine moved in two thousand and five"),
    ("the 1990s", "the nineteen nineties"),
    ("at 3:30 or 10:05 or 7:00", "at three thirty or ten oh five or seven o'clock"),
    ("code 5500123, zip 02139, 1,234,567 people", "code five five zero zero one two three zip zero two one three "
                                                "nine one million two hundred and thirty four thousand five "
                                                "hundred and sixty seven people"),
    ("1999 dollars is $1999", "nineteen ninety nine dollars is one thousand nine hundred and ninety nine dollars"),
    ("2500 people, 1.5 km", "two thousand five hundred people one point five km"),
    ("...", ""),
    ("", ""),
]


@pytest.mark.parametrize("raw, expected", CASES)
def test_normalize_text(raw, expected):
    assert normalize_text(raw) == expected


def test_unmappable_letters_are_dropped_or_rejected():
    assert normalize_text("hello 日本 world") == "hello world"
    with pytest.raises(TextError, match="日"):
        normalize_text("hello 日本", strict=True)


@given(st.text())
def test_normalised_text_uses_only_the_alphabet_and_is_a_fixed_point(text):
    normalised = normalize_text(text)
    assert set(normalised) <= set(SYMBOLS)
    assert "  " not in normalised and normalised == normalised.strip()
    assert normalize_text(normalised) == normalised


def test_alphabet_has_29_classes_with_the_blank_from_constants():
    alphabet = Alphabet()
    assert alphabet.num_classes == NUM_CLASSES == 29
    assert alphabet.blank_index == BLANK_INDEX
    assert alphabet.labels[BLANK_INDEX] == ""
    assert sorted(alphabet.labels) == sorted(["", *SYMBOLS])


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz' ,.!?-ABC0123456789"))
def test_encode_then_decode_returns_the_normalised_text(text):
    alphabet = Alphabet()
    ids = alphabet.encode(text)
    assert BLANK_INDEX not in ids
    assert all(0 <= i < alphabet.num_classes for i in ids)
    assert alphabet.decode(ids) == normalize_text(text)


def test_decode_skips_blanks_but_keeps_repeats():
    alphabet = Alphabet()
    ids = alphabet.encode("aab")
    assert alphabet.decode([BLANK_INDEX, ids[0], BLANK_INDEX, ids[1], ids[2]]) == "aab"


def test_decode_rejects_ids_outside_the_classes():
    with pytest.raises(TextError, match=r"\[0, 29\)"):
        Alphabet().decode([5, 29])


def test_encode_rejects_unmappable_text():
    with pytest.raises(TextError):
        Alphabet().encode("Ωmega")


def test_alphabet_round_trips_through_json(tmp_path):
    alphabet = Alphabet(blank_index=28)
    alphabet.save(tmp_path / "alphabet.json")
    assert Alphabet.load(tmp_path / "alphabet.json") == alphabet


@pytest.mark.parametrize("symbols, blank_index", [(("a", "a"), 0), (("a", ""), 0), (("a", "b"), 5)])
def test_bad_alphabets_are_rejected(symbols, blank_index):
    with pytest.raises(ValueError):
        Alphabet(symbols=symbols, blank_index=blank_index)
