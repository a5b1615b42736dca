"""The output alphabet: 28 symbols plus the CTC blank, and the mapping to class ids."""

from __future__ import annotations

import json
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

from asr.constants import BLANK, BLANK_INDEX, SYMBOLS
from asr.errors import TextError
from asr.text import normalize_text


@dataclass(frozen=True)
class Alphabet:
    """Characters a model can emit, with the CTC blank at ``blank_index``.

    Parameters
    ----------
    symbols : tuple of str
        The non-blank symbols in class order (the blank's slot is skipped).
    blank_index : int
        Class index of the CTC blank.

    Examples
    --------
    >>> alphabet = Alphabet()
    >>> alphabet.num_classes
    29
    >>> alphabet.decode(alphabet.encode("Hi there"))
    'hi there'
    """

    symbols: tuple[str, ...] = SYMBOLS
    blank_index: int = BLANK_INDEX

    def __post_init__(self):
        if len(set(self.symbols)) != len(self.symbols) or BLANK in self.symbols:
            raise ValueError(f"symbols must be distinct and non-empty, got {self.symbols!r}")
        if not 0 <= self.blank_index <= len(self.symbols):
            raise ValueError(f"blank_index must be in [0, {len(self.symbols)}], got {self.blank_index}")

    @property
    def num_classes(self) -> int:
        """Number of model outputs: the symbols plus the blank."""
        return len(self.symbols) + 1

    @property
    def labels(self) -> list[str]:
        """One string per class, ``""`` for the blank (the list pyctcdecode takes)."""
        labels = list(self.symbols)
        labels.insert(self.blank_index, BLANK)
        return labels

    def encode(self, text: str) -> list[int]:
        """Normalise ``text`` and return its class ids (never the blank).

        Raises
        ------
        TextError
            If the text holds letters the normaliser cannot map.
        """
        index = self._index
        return [index[char] for char in normalize_text(text, strict=True)]

    def decode(self, ids) -> str:
        """Return the text of class ids, skipping blanks (repeats are *not* merged).

        Parameters
        ----------
        ids : iterable of int
            Class ids in ``[0, num_classes)``.
        """
        labels = self.labels
        try:
            return "".join(labels[int(i)] for i in ids if int(i) != self.blank_index)
        except IndexError:
            raise TextError(f"class ids must be in [0, {self.num_classes}), got {list(ids)!r}") from None

    def save(self, path: str | PathLike) -> None:
        """Write the alphabet as JSON (a model folder's ``alphabet.json``)."""
        payload = {"symbols": list(self.symbols), "blank_index": self.blank_index}
        Path(path).write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | PathLike) -> "Alphabet":
        """Read an alphabet written by :meth:`save`."""
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(symbols=tuple(payload["symbols"]), blank_index=int(payload["blank_index"]))

    @property
    def _index(self) -> dict[str, int]:
        """Class id of each symbol."""
        return {label: i for i, label in enumerate(self.labels) if i != self.blank_index}
