"""The exceptions ``asr`` raises on bad input; each names the thing and the reason."""

from __future__ import annotations

from os import PathLike


class AsrError(Exception):
    """Base class of every error ``asr`` raises on bad input or data."""


class AudioError(AsrError):
    """Audio that cannot be loaded: missing, empty, not audio, too short, not finite."""

    def __init__(self, source: str | PathLike | None, reason: str):
        self.source = None if source is None else str(source)
        self.reason = reason
        where = self.source if self.source is not None else "<array>"
        super().__init__(f"{where}: {reason}")


class TextError(AsrError):
    """Text that the normaliser cannot map onto the alphabet."""


class _LocatedError(AsrError):
    """An error at a file, or at one line of it.

    Attributes
    ----------
    path : str
        The file or folder at fault.
    line : int or None
        The 1-based line number in ``path``, when there is one.
    reason : str
        What is wrong.
    """

    def __init__(self, path: str | PathLike, line: int | None, reason: str):
        self.path = str(path)
        self.line = line
        self.reason = reason
        where = self.path if line is None else f"{self.path}:{line}"
        super().__init__(f"{where}: {reason}")


class ManifestError(_LocatedError):
    """A manifest that cannot be read, or one of its lines that is not a usable utterance."""


class CorpusError(_LocatedError):
    """A corpus that cannot be read, or one item of it that cannot become an utterance (``path`` is the index
    file for a bad line)."""


class ModelError(AsrError):
    """A model folder that is missing a part or holds a broken one."""


class LanguageModelError(AsrError):
    """An n-gram language model that cannot be built or loaded, or KenLM's programs missing."""
