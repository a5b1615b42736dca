"""Endpointing: where a live transcript's segment ends, from the acoustic model's own output.

A segment ends after a pause: ``pause_ms`` of output frames whose best class
is the blank or the space, once the segment holds speech (a frame whose best
class is a letter or apostrophe). Cutting only inside such a run never
splits a character, so the words of the segments are the words of the
whole input (as long as the model writes a space across the pause, which it
is trained to do). Silence before any speech ends an empty segment every
``pause_ms``, so nothing grows while nobody speaks; a segment that reaches
``max_segment_seconds`` without a pause is cut at its latest non-speech frame
(or at once if it has none), so memory and the final decoding stay bounded
on endless speech.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_PAUSE_MS = 500.0  # ms of non-speech after speech that ends a segment (Vosk and Kaldi use 0.5-1 s)
DEFAULT_MAX_SEGMENT_SECONDS = 20.0  # s: a segment is cut here if no pause came


@dataclass(frozen=True)
class EndpointConfig:
    """When a segment of a stream is final.

    Attributes
    ----------
    pause_ms : float
        Milliseconds of non-speech after speech that end a segment.
    max_segment_seconds : float
        Longest segment; one without a pause is cut here.
    """

    pause_ms: float = DEFAULT_PAUSE_MS
    max_segment_seconds: float = DEFAULT_MAX_SEGMENT_SECONDS

    def __post_init__(self):
        if self.pause_ms <= 0:
            raise ValueError(f"pause_ms must be positive, got {self.pause_ms}")
        if self.max_segment_seconds * 1000 <= self.pause_ms:
            raise ValueError(f"max_segment_seconds must be longer than the pause ({self.pause_ms} ms), "
                             f"got {self.max_segment_seconds}")


class Endpointer:
    """Finds segment ends in a stream of output frames' best classes.

    Parameters
    ----------
    config : EndpointConfig
    frame_seconds : float
        Seconds per output frame.
    silent_classes : sequence of int
        The classes that are not speech: the blank and the space.
    """

    def __init__(self, config: EndpointConfig, *, frame_seconds: float, silent_classes):
        self.pause_frames = max(1, round(config.pause_ms / 1000 / frame_seconds))
        self.max_frames = max(self.pause_frames + 1, round(config.max_segment_seconds / frame_seconds))
        self._silent_classes = np.asarray(sorted(silent_classes))
        self.segment_start = 0  # first frame of the open segment
        self._silent: list[bool] = []  # whether each frame of the open segment is non-speech

    @property
    def frames(self) -> int:
        """Output frames seen so far."""
        return self.segment_start + len(self._silent)

    def push(self, best_classes: np.ndarray) -> list[int]:
        """Take the next frames' best classes; return the frame indices where segments end (exclusive), in order."""
        ends = []
        for silent in np.isin(np.asarray(best_classes), self._silent_classes).tolist():
            self._silent.append(silent)
            if len(self._silent) >= self.pause_frames and all(self._silent[-self.pause_frames:]):
                ends.append(self._cut(len(self._silent)))
            elif len(self._silent) >= self.max_frames:
                quiet = [i for i, frame_silent in enumerate(self._silent) if frame_silent]
                ends.append(self._cut(quiet[-1] + 1 if quiet else len(self._silent)))
        return ends

    def _cut(self, offset: int) -> int:
        """End the open segment ``offset`` frames after its start; the frames after it open the next."""
        self.segment_start += offset
        self._silent = self._silent[offset:]
        return self.segment_start
