"""What ``asr transcribe`` reads and writes: audio files found under paths, transcripts in four formats."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from asr.audio import is_audio_file
from asr.captions import to_srt, to_vtt
from asr.files import write_text_atomically
from asr.transcriber import Transcript

FORMATS = ("txt", "json", "srt", "vtt")


def find_audio(paths: Sequence[str | os.PathLike]) -> tuple[list[Path], list[str]]:
    """Audio files named or found (recursively, sorted) under folders, and a problem line per bad path."""
    files, problems = [], []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and is_audio_file(p))
            files += found
            if not found:
                problems.append(f"{path}: folder holds no audio files")
        elif path.exists():
            files.append(path)
        else:
            problems.append(f"{path}: no such file")
    return files, problems


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
                     with_name: bool = False) -> None:
    """Print a transcript, or write it as ``OUTPUT_DIR/<file name>.<format>`` (atomically)."""
    text = render(transcript, format)
    if output_dir is None:
        if with_name and format == "txt":
            text = f"{transcript.source}: {text}"
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    folder = Path(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    write_text_atomically(folder / f"{Path(transcript.source or 'audio').stem}.{format}", text)
