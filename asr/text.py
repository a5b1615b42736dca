"""The one text normaliser, used for training labels, references and hypotheses alike.

Normalised text holds only the alphabet's symbols: lower-case ``a``-``z``, the
apostrophe inside words, and single spaces between words. Digits and the
common symbols are spelled out the same way everywhere, so that a reference
written ``"5%"`` and a hypothesis ``"five percent"`` count as a match. Digits
are spelled as they are spoken: a phone number digit by digit
(``555-0123``: "five five five zero one two three") and so is a code
(five or more digits with no thousands commas, or a leading zero), a year as a year
(``1999``: "nineteen ninety nine", not "one thousand nine hundred and ..."),
a clock time as a time (``3:30``: "three thirty"), other numbers as numbers.
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

_PHONE = re.compile(r"(?<![\d$£€.,])(?:\+?1[-. ])?(?:\(\d{3}\)\s?|\d{3}[-. ])?\d{3}[-. ]\d{4}(?![\d%])")
_DIGIT_STRING = re.compile(r"(?<![\d,.$£€])(?:0\d+|\d{5,})(?![\d%]|[.,]\d)")  # codes: 0123, 55012, 5500123
_YEAR = re.compile(r"(?<![\d$£€.,])(1[1-9]\d\d|20\d\d)(?![\d%]|\.\d|,\d)(s\b|'s\b)?")
_CLOCK = re.compile(r"\b([01]?\d|2[0-3]):([0-5]\d)\b")
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
    text = _CURRENCY.sub(lambda m: f" {_amount_words(m.group(2))} {_CURRENCIES[m.group(1)]} ", text)
    for symbol, spoken in _SPOKEN_SYMBOLS.items():
        text = text.replace(symbol, spoken)
    return text


def _spell_numbers(text: str) -> str:
    """Spell out phone numbers, clock times, years, ordinals, decimals and integers in English words."""
    text = _CLOCK.sub(lambda m: f" {_clock_words(m.group(1), m.group(2))} ", text)
    text = _PHONE.sub(lambda m: f" {_digit_words(m.group(0))} ", text)
    text = _DIGIT_STRING.sub(lambda m: f" {_digit_words(m.group(0))} ", text)
    text = _YEAR.sub(lambda m: f" {_year_words(m.group(1), m.group(2))} ", text)
    text = _THOUSANDS.sub("", text)
    text = _ORDINAL.sub(lambda m: f" {_ordinal_words(m.group(1))} ", text)
    text = _DECIMAL.sub(lambda m: f" {_decimal_words(m.group(1), m.group(2))} ", text)
    return _INTEGER.sub(lambda m: f" {_integer_words(m.group(0))} ", text)


def _integer_words(digits: str) -> str:
    """Read an integer as a number, or digit by digit past what num2words can say."""
    if len(digits) > MAX_NUMBER_DIGITS:
        return " ".join(num2words(int(digit)) for digit in digits)
    return num2words(int(digits))


def _digit_words(text: str) -> str:
    """Read the digits of a phone number or code one by one ("555-0123": "five five five zero one two three")."""
    return " ".join(num2words(int(digit)) for digit in re.sub(r"\D", "", text))


def _amount_words(amount: str) -> str:
    """Read a sum of money's number as a number, never as a year ("$1999": "one thousand nine hundred ...")."""
    whole, _, fraction = amount.replace(",", "").partition(".")
    return _decimal_words(whole, fraction) if fraction else _integer_words(whole)


def _year_words(digits: str, plural: str | None) -> str:
    """Read "1999" as "nineteen ninety nine", "1990s" as "nineteen nineties", "2005" as "two thousand and five"."""
    words = num2words(int(digits), to="year").replace("-", " ")
    if not plural:
        return words
    head, _, last = words.rpartition(" ")
    last = last[:-1] + "ies" if last.endswith("y") else last + "s"
    return f"{head} {last}".strip()


def _clock_words(hours: str, minutes: str) -> str:
    """Read "3:30" as "three thirty", "3:05" as "three oh five", "3:00" as "three o'clock"."""
    hour = num2words(int(hours))
    if minutes == "00":
        return f"{hour} o'clock"
    if minutes.startswith("0"):
        return f"{hour} oh {num2words(int(minutes))}"
    return f"{hour} {num2words(int(minutes))}"


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
