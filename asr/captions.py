"""Captions (SRT and WebVTT) from timed words."""

from __future__ import annotations

from collections.abc import Sequence

from asr.decoders import Word

MAX_CUE_SECONDS = 5.0  # s: a cue is closed once it would run longer
MAX_CUE_WORDS = 12  # words on one cue at most
PAUSE_SECONDS = 0.8  # s: a silence this long between words starts a new cue


def cues(words: Sequence[Word]) -> list[tuple[float, float, str]]:
    """Group timed words into caption cues: (start s, end s, text)."""
    grouped: list[list[Word]] = []
    for word in words:
        current = grouped[-1] if grouped else None
        if (current is None or word.start - current[-1].end > PAUSE_SECONDS
                or word.end - current[0].start > MAX_CUE_SECONDS or len(current) >= MAX_CUE_WORDS):
            grouped.append([word])
        else:
            current.append(word)
    return [(group[0].start, group[-1].end, " ".join(w.word for w in group)) for group in grouped]


def to_srt(words: Sequence[Word]) -> str:
    """SubRip captions of timed words."""
    blocks = [f"{i}\n{_timestamp(start, ',')} --> {_timestamp(end, ',')}\n{text}\n"
              for i, (start, end, text) in enumerate(cues(words), start=1)]
    return "\n".join(blocks)


def to_vtt(words: Sequence[Word]) -> str:
    """WebVTT captions of timed words."""
    blocks = [f"{_timestamp(start, '.')} --> {_timestamp(end, '.')}\n{text}\n" for start, end, text in cues(words)]
    return "WEBVTT\n\n" + "\n".join(blocks)


def _timestamp(seconds: float, separator: str) -> str:
    """HH:MM:SS,mmm (SRT) or HH:MM:SS.mmm (VTT)."""
    milliseconds = int(round(max(seconds, 0.0) * 1000))
    hours, rest = divmod(milliseconds, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"
