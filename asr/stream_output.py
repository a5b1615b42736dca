"""What ``asr transcribe --stream`` prints: a line per change of the partial words and per final segment.

``txt``: ``partial: <words>`` and ``final <start>-<end>: <words>`` lines; on
a terminal the partial line is rewritten in place instead. ``json``: one
object per line, ``{"type": "partial", "text", "seconds"}`` or ``{"type":
"final", "text", "start", "end", "words", "seconds"}``, for programs.
"""

from __future__ import annotations

import json
from typing import TextIO

from asr.streaming import StreamUpdate

STREAM_FORMATS = ("txt", "json")
CLEAR_LINE = "\r\033[K"  # carriage return, then erase to the end of the line


class StreamPrinter:
    """Prints stream updates as they come, flushing after each.

    Parameters
    ----------
    file : text stream
    format : {"txt", "json"}
    terminal : bool
        Rewrite the partial line in place (txt on a terminal).
    """

    def __init__(self, file: TextIO, *, format: str = "txt", terminal: bool = False):
        if format not in STREAM_FORMATS:
            raise ValueError(f"format must be one of {STREAM_FORMATS}, got {format!r}")
        self.file, self.format, self.terminal = file, format, terminal and format == "txt"
        self._partial = ""

    def show(self, update: StreamUpdate) -> None:
        """Print the update's final segments, then its partial words if they changed."""
        for segment in update.finals:
            if self.format == "json":
                self._line(json.dumps({"type": "final", **segment.to_dict(), "seconds": round(update.seconds, 3)}))
            else:
                self._line(f"final {segment.start:.2f}-{segment.end:.2f}: {segment.text}")
            self._partial = ""
        if update.partial != self._partial:
            self._partial = update.partial
            if self.format == "json":
                self._line(json.dumps({"type": "partial", "text": update.partial,
                                       "seconds": round(update.seconds, 3)}))
            elif self.terminal:
                self.file.write(f"{CLEAR_LINE}{update.partial}")
            elif update.partial:
                self._line(f"partial: {update.partial}")
        self.file.flush()

    def close(self) -> None:
        """End the last partial line on a terminal."""
        if self.terminal and self._partial:
            self.file.write(CLEAR_LINE)
        self.file.flush()

    def _line(self, text: str) -> None:
        self.file.write(f"{CLEAR_LINE}{text}\n" if self.terminal else f"{text}\n")
