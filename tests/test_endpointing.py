"""Endpointing: segments end after a pause, at bounded length, never inside speech."""

from __future__ import annotations

import numpy as np
import pytest

from asr.endpointing import EndpointConfig, Endpointer

BLANK, SPACE, A, B = 0, 28, 1, 2
FRAME = 0.02  # s per output frame


def _endpointer(pause_ms=100.0, max_segment_seconds=1.0):
    config = EndpointConfig(pause_ms=pause_ms, max_segment_seconds=max_segment_seconds)
    return Endpointer(config, frame_seconds=FRAME, silent_classes=(BLANK, SPACE))


def test_a_pause_after_speech_ends_the_segment_where_the_pause_is_long_enough():
    endpointer = _endpointer()  # 100 ms = 5 frames
    classes = [A, A, BLANK, B, BLANK, SPACE, BLANK, BLANK, BLANK, A]
    assert endpointer.push(classes) == [9]  # frames 4-8 are the first 5 silent ones in a row


def test_the_same_ends_come_whatever_the_chunks(rng):
    classes = rng.choice([BLANK, BLANK, BLANK, SPACE, A, B], size=2000)
    whole = _endpointer().push(classes)
    endpointer, ends, start = _endpointer(), [], 0
    while start < classes.size:
        size = int(rng.integers(0, 30))
        ends += endpointer.push(classes[start:start + size])
        start += size
    assert ends == whole and len(whole) > 10


def test_silence_ends_empty_segments_so_nothing_grows():
    assert _endpointer().push([BLANK] * 23) == [5, 10, 15, 20]


def test_a_segment_without_a_pause_is_cut_at_its_latest_silent_frame():
    endpointer = _endpointer(max_segment_seconds=0.2)  # 10 frames
    classes = [A, A, BLANK, A, A, A, A, A, A, A, A, A]
    assert endpointer.push(classes) == [3]  # after the blank at frame 2, not inside the letters
    assert endpointer.segment_start == 3


def test_speech_with_no_silent_frame_at_all_is_cut_at_the_limit():
    assert _endpointer(max_segment_seconds=0.2).push([A, B] * 10) == [10, 20]


@pytest.mark.parametrize("pause_ms, longest", [(0.0, 1.0), (-5.0, 1.0), (500.0, 0.5)])
def test_bad_settings_are_refused(pause_ms, longest):
    with pytest.raises(ValueError):
        EndpointConfig(pause_ms=pause_ms, max_segment_seconds=longest)


def test_cuts_fall_only_on_silent_frames(rng):
    classes = rng.choice([BLANK, SPACE, A, B], size=3000, p=[0.5, 0.1, 0.2, 0.2])
    ends = _endpointer(max_segment_seconds=0.3).push(classes)
    assert ends and all(classes[end - 1] in (BLANK, SPACE) for end in ends)
    assert np.all(np.diff([0] + ends) <= 15)
