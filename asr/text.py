"""The one text normaliser, used for training labels, references and hypotheses alike.

Normalised text holds only the alphabet's symbols: lower-case ``a``-``z``, the
apostrophe inside words, and single spaces between words. Digits and the
common symbols are spelled out the same way everywhere, so that a reference
written ``"5%"`` and a hypothesis ``"five percent"`` count as a match.
"""

from __future__ import annotations

import re
import unicodedata

from num2words import num2words

from asr.constants import SYMBOLS
from asr.errors import TextError

_SPOKEN_SYMBOLS = {"&": " and ", "+": " plus ", "@": " at ", "=": " equals ", "%": " percent "}
_CURRENCIES = {"$": "dollars", "£": "pounds", "€": "euros"}
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'", "´": "'"})

_CURRENCY = re.compile(r"([$£€])\s?(\d[\d,]*(?:\.\d+)?)")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
_ORDINAL = re.compile(r"\b(\d+)(st|nd|rd|th)\b", re.IGNORECASE)
_DECIMAL = re.compile(r"(\d+)\.(\d+)")
_INTEGER = re.compile(r"\d+")
_STRAY_APOSTROPHE = re.compile(r"(?<![a-z])'|'(?![a-z])")
_SPACES = re.compile(r"\s+")

_ALLOWED = frozenset(SYMBOLS)
MAX_NUMBER_DIGITS = 15  # longer digit strings are read one digit at a time


def normalize_text(text: str, *, strict: bool = False) -> str:
    """Map free text onto the alphabet: lower case, numbers spelled out, no punctuation.

    Parameters
    ----------
    text : str
        Any Unicode text.
    strict : bool
        If True, raise :class:`TextError` when the text holds letters that
        have no spelling in the alphabet (``"日本"``, ``"α"``). If False,
        such characters are dropped.

    Returns
    -------
    str
        Words of ``a``-``z`` and inner apostrophes separated by single
        spaces; empty if nothing speakable was left.

    Examples
    --------
    >>> normalize_text("Dr. Smith's 2nd visit cost $5 — 10% off!")
    "dr smith's second visit cost five dollars ten percent off"
    """
    if not isinstance(text, str):
        raise TypeError(f"expected text as str, got {type(text).__name__}")
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES)
    text = _spell_numbers(_spell_symbols(text))
    text = _strip_accents(text.lower())
    text = "".join(_map_character(char, text, strict) for char in text)
    text = _STRAY_APOSTROPHE.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def _spell_symbols(text: str) -> str:
    """Spell out currency amounts and the symbols that are read aloud."""
    text = _CURRENCY.sub(lambda m: f" {m.group(2)} {_CURRENCIES[m.group(1)]} ", text)
    for symbol, spoken in _SPOKEN_SYMBOLS.items():
        text = text.replace(symbol, spoken)
    return text


def _spell_numbers(text: str) -> str:
    """Spell out ordinals, decimals and integers in English words."""
    text = _THOUSANDS.sub("", text)
    text = _ORDINAL.sub(lambda m: f" {_ordinal_words(m.group(1))} ", text)
    text = _DECIMAL.sub(lambda m: f" {_decimal_words(m.group(1), m.group(2))} ", text)
    return _INTEGER.sub(lambda m: f" {_integer_words(m.group(0))} ", text)


def _integer_words(digits: str) -> str:
    """Read an integer as a number, or digit by digit past what num2words can say."""
    if len(digits) > MAX_NUMBER_DIGITS:
        return " ".join(num2words(int(digit)) for digit in digits)
    return num2words(int(digits))


def _ordinal_words(digits: str) -> str:
    """Read "21" of "21st" as "twenty first"; past what num2words can say, digit by digit ("one two ... first")."""
    if len(digits) > MAX_NUMBER_DIGITS:
        *leading, last = digits
        return " ".join([num2words(int(digit)) for digit in leading] + [num2words(int(last), to="ordinal")])
    return num2words(int(digits), to="ordinal")


def _decimal_words(whole: str, fraction: str) -> str:
    """Read ``3.14`` as "three point one four"."""
    digits = " ".join(num2words(int(digit)) for digit in fraction)
    return f"{_integer_words(whole)} point {digits}"


def _strip_accents(text: str) -> str:
    """Fold accented Latin letters onto their base letter (``é`` to ``e``)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _map_character(char: str, text: str, strict: bool) -> str:
    """Keep an alphabet symbol, turn punctuation and symbols into a space, drop the rest."""
    if char in _ALLOWED:
        return char
    category = unicodedata.category(char)
    if category[0] in "PSZC":
        return " "
    if strict:
        raise TextError(f"cannot map {char!r} (U+{ord(char):04X}) in {text!r} onto the alphabet")
    return ""
