"""Files: written so that a crash or a kill never leaves half of one (a temporary file, then a rename), and JSON
objects read with errors that name the file."""

from __future__ import annotations

import errno
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from os import PathLike
from pathlib import Path

from asr.errors import ModelError

TEMPORARY_MARK = ".tmp-"  # in the names of files being written: .NAME.tmp-PID[SUFFIX]


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
    temporary = path.with_name(f".{path.name}{TEMPORARY_MARK}{os.getpid()}{suffix}")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_text_atomically(path: str | PathLike, text: str) -> None:
    """Write UTF-8 text so that ``path`` holds either the old file or all of the new one."""
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


def read_json_object(path: Path, *, error: type[Exception] = ModelError) -> dict:
    """The JSON object in a UTF-8 file.

    Raises
    ------
    error
        Naming ``path``, if it cannot be read, is not JSON, or holds something other than an object.
    """
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as problem:
        raise error(f"{path}: not readable JSON ({problem})") from problem
    if not isinstance(value, dict):
        raise error(f"{path}: expected a JSON object, got {type(value).__name__}")
    return value


def remove_temporaries(*folders: str | PathLike) -> list[Path]:
    """Delete the temporary files that :func:`atomic_path` left in ``folders`` when its process was killed.

    Call it only where no other process is writing into those folders. Returns the files removed.
    """
    stale = [path for folder in folders for path in Path(folder).glob(f".*{TEMPORARY_MARK}*") if path.is_file()]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def ensure_room(path: str | PathLike, needed: int) -> None:
    """Check that the disk holding ``path`` has ``needed`` bytes free before a large file is written there.

    HDF5 (Keras weights files) fails badly on a disk that fills up mid-write: the error is swallowed
    and the process may crash on exit. Checking first turns the common case into a clear error.

    Raises
    ------
    OSError
        errno ENOSPC, naming the file, what it needs and what is free.
    """
    path = Path(path)
    free = shutil.disk_usage(path.parent).free
    if free < needed:
        raise OSError(errno.ENOSPC, f"No space left on device: writing it needs about {needed / 1e6:.2f} MB, "
                                    f"{free / 1e6:.2f} MB free", str(path))
