"""Writing files so that a crash or a kill never leaves half of one: write a temporary file, then rename it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from os import PathLike
from pathlib import Path


@contextmanager
def atomic_path(path: str | PathLike, *, suffix: str = "") -> Iterator[Path]:
    """A temporary path beside ``path``, renamed over it when the block ends without an error.

    Parameters
    ----------
    path : path
        The file to write.
    suffix : str
        Ends the temporary name, for writers that check it (``.keras``, ``.weights.h5``, ``.wav``).

    Examples
    --------
    >>> with atomic_path("model.keras", suffix=".keras") as temporary:  # doctest: +SKIP
    ...     model.save(temporary)
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}{suffix}")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_text_atomically(path: str | PathLike, text: str) -> None:
    """Write UTF-8 text so that ``path`` holds either the old file or all of the new one."""
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
