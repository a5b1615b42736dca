"""Frame arithmetic on the time axis: how many output frames a network gives for an input.

A network's time axis changes only in its convolution, pooling and
zero-padding layers. Each is described here by a :class:`TimeStep`, with no
Keras, so that an exported graph (:mod:`asr.networks`) knows its output
lengths from the steps saved beside it, and a Keras model
(:func:`asr.models.time_steps`) from its own layers, by the same formula.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

PADDINGS = ("valid", "same", "causal")


@dataclass(frozen=True)
class TimeStep:
    """One change of the time axis.

    Attributes
    ----------
    kernel : int
        Frames in a window (1 for zero padding).
    stride : int
        Input frames per output frame.
    dilation : int
        Spacing of a window's frames.
    padding : str
        ``valid``, ``same`` or ``causal``: Keras' meaning.
    added : int
        Zero frames added in all (a ``ZeroPadding`` layer), 0 for a window.
    """

    kernel: int = 1
    stride: int = 1
    dilation: int = 1
    padding: str = "valid"
    added: int = 0

    def __post_init__(self):
        if min(self.kernel, self.stride, self.dilation) < 1 or self.added < 0:
            raise ValueError(f"kernel, stride and dilation must be positive and added not negative, got {self}")
        if self.padding not in PADDINGS:
            raise ValueError(f"padding must be one of {PADDINGS}, got {self.padding!r}")

    def output_frames(self, frames):
        """Output frames of this step for ``frames`` input frames (int or integer array)."""
        if self.added:
            return frames + self.added
        if self.padding in ("same", "causal"):
            return (frames + self.stride - 1) // self.stride
        return (frames - self.dilation * (self.kernel - 1) - 1) // self.stride + 1

    def to_dict(self) -> dict:
        """Plain values for JSON."""
        return {"kernel": self.kernel, "stride": self.stride, "dilation": self.dilation, "padding": self.padding,
                "added": self.added}


def output_frames(steps: Sequence[TimeStep], frames):
    """Output frames of a network whose time axis changes by ``steps``, in order.

    Parameters
    ----------
    steps : sequence of TimeStep
    frames : int, np.ndarray or tf.Tensor of int
        Input frames of each utterance.

    Returns
    -------
    Same type as ``frames``
    """
    for step in steps:
        frames = step.output_frames(frames)
    return frames


def total_stride(steps: Sequence[TimeStep]) -> int:
    """Input frames per output frame: the product of the strides."""
    return int(np.prod([step.stride for step in steps], dtype=np.int64))


def steps_from_dicts(values: Sequence[dict]) -> tuple[TimeStep, ...]:
    """The steps saved by :meth:`TimeStep.to_dict`; ValueError if one is malformed."""
    try:
        return tuple(TimeStep(**value) for value in values)
    except TypeError as error:
        raise ValueError(f"not a list of time steps: {values!r} ({error})") from error
