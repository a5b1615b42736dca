"""What ``asr transcribe`` reads and writes: audio files found under paths, transcripts in four formats."""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath

from asr.audio import is_audio_file
from asr.captions import to_srt, to_vtt
from asr.files import write_text_atomically
from asr.transcriber import Transcript

FORMATS = ("txt", "json", "srt", "vtt")


@dataclass(frozen=True)
class AudioInput:
    """One audio file to transcribe.

    Attributes
    ----------
    path : Path
        The file.
    relative : PurePath
        Its path below the folder it was found in, or its bare name when it was named directly;
        output files take their names from it, so they always land inside the output folder.
    """

    path: Path
    relative: PurePath


def find_audio(paths: Sequence[str | os.PathLike]) -> tuple[list[AudioInput], list[str]]:
    """Audio files named or found (recursively, sorted) under folders, and a problem line per bad path.

    A file named twice, or named and also found in a folder, is transcribed once. Files named directly
    are taken whatever their extension; in folders, only the extensions of ``asr.audio.AUDIO_EXTENSIONS``.

    Returns
    -------
    list of AudioInput, list of str
        The inputs in order, and ``"PATH: reason"`` for each path that gave none.
    """
    inputs, problems, seen = [], [], set()
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and is_audio_file(p))
            found_inputs = [AudioInput(p, p.relative_to(path)) for p in found]
            if not found:
                problems.append(f"{path}: folder holds no audio files")
        elif path.exists():
            found_inputs = [AudioInput(path, PurePath(path.name))]
        else:
            problems.append(f"{path}: no such file")
            continue
        for audio in found_inputs:
            if audio.path.resolve() not in seen:
                seen.add(audio.path.resolve())
                inputs.append(audio)
    return inputs, problems


def output_names(inputs: Sequence[AudioInput]) -> list[PurePath]:
    """One distinct output name (no format suffix) per input: its relative path without the audio extension.

    Inputs that would share a name keep their extension (``talk.mp3``, ``talk.wav``); any still shared get
    the first free ``-2``, ``-3``, ... in input order, so no transcript overwrites another one of the run.

    Examples
    --------
    >>> [str(n) for n in output_names([AudioInput(Path(p), PurePath(p)) for p in ("a.wav", "a.mp3", "b.wav")])]
    ['a.wav', 'a.mp3', 'b']
    """
    stems = [audio.relative.with_suffix("") for audio in inputs]
    shared = Counter(stems)
    names = [audio.relative if shared[stem] > 1 else stem for audio, stem in zip(inputs, stems)]
    wanted, unique = set(names), []
    for name in names:
        candidate, number = name, 1
        while candidate in unique or (candidate != name and candidate in wanted):
            number += 1
            candidate = name.with_name(f"{name.name}-{number}")
        unique.append(candidate)
    return unique


def render(transcript: Transcript, format: str) -> str:
    """A transcript as text, one JSON line, SRT or WebVTT."""
    if format == "txt":
        return transcript.text + "\n"
    if format == "json":
        return json.dumps(transcript.to_dict(), ensure_ascii=False) + "\n"
    if format == "srt":
        return to_srt(transcript.words)
    if format == "vtt":
        return to_vtt(transcript.words)
    raise ValueError(f"format must be one of {FORMATS}, got {format!r}")


def write_transcript(transcript: Transcript, format: str, *, output_dir: str | os.PathLike | None = None,
                     name: PurePath | None = None, with_name: bool = False) -> Path | None:
    """Print a transcript, or write it as ``OUTPUT_DIR/<name>.<format>`` atomically and return that path.

    Parameters
    ----------
    name : PurePath, optional
        Relative output name without suffix (from :func:`output_names`); default: the source's stem.
    with_name : bool
        When printing plain text, start the line with the source file.

    Raises
    ------
    ValueError
        If ``name`` would lead outside ``output_dir``.
    OSError
        If the file cannot be written (disk full, no permission); an earlier file of that name is left as it was.
    """
    text = render(transcript, format)
    if output_dir is None:
        if with_name and format == "txt":
            text = f"{transcript.source}: {text}"
        sys.stdout.write(text)
        sys.stdout.flush()
        return None
    folder = Path(output_dir)
    name = PurePath(name) if name is not None else PurePath(Path(transcript.source or "audio").stem)
    target = folder / f"{name}.{format}"
    if name.is_absolute() or ".." in name.parts or not target.resolve().is_relative_to(folder.resolve()):
        raise ValueError(f"{name}: output name leads outside the output folder {folder}")
    target.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(target, text)
    return target
