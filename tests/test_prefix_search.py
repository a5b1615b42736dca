"""The prefix search fed in chunks: pyctcdecode's beams for the whole utterance, and every decoder's stream."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asr.decoders import build_decoder
from conftest import CLASSES, random_log_probs, spelled

FRAME_SECONDS = 0.02  # a stride-2 model on 10 ms features


def chunked(log_probs: np.ndarray, seed: int) -> list[np.ndarray]:
    """The frames cut at random places, empty chunks included."""
    rng = np.random.default_rng(seed)
    cuts = np.sort(rng.integers(0, len(log_probs) + 1, size=rng.integers(0, 6)))
    return np.split(log_probs, cuts)


def pyctcdecode_beams(decoder, log_probs: np.ndarray, hotwords: list[str]) -> list[tuple]:
    """pyctcdecode's own whole-utterance search with the decoder's settings: (text, word frames, score)."""
    config = decoder.config
    beams = decoder._decoder.decode_beams(log_probs, beam_width=config.beam_width,
                                          beam_prune_logp=config.beam_prune_logp,
                                          token_min_logp=config.token_min_logp, prune_history=False,
                                          hotwords=hotwords or None, hotword_weight=config.hotword_weight)
    return [(text, frames, round(score, 6)) for text, _, frames, _, score in beams]


def streamed_beams(decoder, log_probs: np.ndarray, hotwords: list[str], seed: int) -> list[tuple]:
    """The decoder's prefix search fed in random chunks: (text, word frames, score)."""
    search = decoder._start_search(hotwords)
    for chunk in chunked(log_probs, seed):
        search.advance(chunk)
    return [(text, frames, round(score, 6)) for text, frames, score in search.finish()]


@settings(max_examples=30, deadline=None)
@given(frames=st.integers(1, 40), seed=st.integers(0, 2**32 - 1), hotwords=st.sampled_from([[], ["cab"]]))
def test_chunked_search_gives_pyctcdecodes_beams(frames, seed, hotwords):
    decoder = build_decoder("beam", beam_width=8)
    log_probs = random_log_probs(frames, seed=seed, scale=4.0)
    assert streamed_beams(decoder, log_probs, hotwords, seed) == pyctcdecode_beams(decoder, log_probs, hotwords)


@pytest.mark.parametrize("kind", ["greedy", "beam", "beam_tf"])
@pytest.mark.parametrize("seed", range(4))
def test_a_stream_finishes_with_the_offline_hypotheses(kind, seed):
    decoder = build_decoder(kind, beam_width=8)
    log_probs = random_log_probs(30, seed=seed, scale=4.0)
    stream = decoder.stream(frame_seconds=FRAME_SECONDS)
    for chunk in chunked(log_probs, seed):
        stream.push(chunk)
    assert stream.frames == len(log_probs)
    assert stream.finish(n=3) == decoder.decode_nbest(log_probs, frame_seconds=FRAME_SECONDS, n=3)


@pytest.mark.parametrize("kind", ["greedy", "beam"])
def test_the_partial_reads_what_has_arrived(kind):
    log_probs = spelled("the cat")
    stream = build_decoder(kind, beam_width=8).stream(frame_seconds=FRAME_SECONDS)
    assert stream.partial == ""
    stream.push(log_probs[:3 * 5])  # "the c": three frames a character
    assert stream.partial == "the c"
    stream.push(log_probs[3 * 5:])
    assert stream.partial == "the cat"
    assert stream.finish()[0].text == "the cat"


def test_an_empty_stream_finishes_empty_and_bad_frames_are_refused():
    stream = build_decoder("beam").stream(frame_seconds=FRAME_SECONDS)
    stream.push(np.zeros((0, CLASSES)))
    with pytest.raises(ValueError, match="shape"):
        stream.push(np.zeros((2, CLASSES - 1)))
    assert stream.finish()[0].text == ""
    with pytest.raises(ValueError, match="frame_seconds"):
        build_decoder("beam").stream(frame_seconds=0.0)
    with pytest.raises(ValueError, match="hotwords"):
        build_decoder("greedy").stream(frame_seconds=FRAME_SECONDS, hotwords=["cat"])
