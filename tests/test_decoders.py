"""Decoders: one interface, fuzzed on random, peaked and empty score matrices; alignment helpers."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from asr.alignment import best_path, path_confidence, path_words, word_confidence
from asr.alphabet import Alphabet
from asr.decoders import DecoderConfig, Hypothesis, build_decoder, greedy_decode
from conftest import BLANK, CLASSES, LABELS, SPACE, log_softmax, peaked_log_probs, random_log_probs, spelled
from conftest import check_words as _check_words

ALPHABET = Alphabet()
FRAME_SECONDS = 0.02  # a stride-2 model on 10 ms features
KINDS = ["greedy", "beam", "beam_tf"]
FUZZ = settings(max_examples=40, deadline=None)


def check_words(hypothesis: Hypothesis, frames: int) -> None:
    """Timings ordered and inside the audio, confidences in [0, 1] (at FRAME_SECONDS)."""
    _check_words(hypothesis, frames, FRAME_SECONDS)


@pytest.fixture(scope="module")
def decoders():
    """One of each kind without a language model, small beams, warmed up (TensorFlow imported) once."""
    built = {kind: build_decoder(kind, beam_width=8) for kind in KINDS}
    for decoder in built.values():
        decoder.decode(random_log_probs(2, seed=0), frame_seconds=FRAME_SECONDS)
    return built


frame_counts = st.integers(min_value=0, max_value=40)
seeds = st.integers(min_value=0, max_value=2**32 - 1)
any_scores = hnp.arrays(np.float64, st.tuples(st.integers(0, 12), st.just(CLASSES)),
                        elements=st.floats(-60, 60, allow_nan=False, allow_infinity=False))


@pytest.mark.parametrize("kind", KINDS)
@FUZZ
@given(scores=any_scores)
def test_no_decoder_crashes_on_any_scores(decoders, kind, scores):
    for hypothesis in decoders[kind].decode_nbest(scores, frame_seconds=FRAME_SECONDS, n=3):
        check_words(hypothesis, len(scores))


@pytest.mark.parametrize("kind", KINDS)
@FUZZ
@given(frames=frame_counts, seed=seeds)
def test_timings_are_monotone_inside_the_audio_and_confidences_in_range(decoders, kind, frames, seed):
    log_probs = random_log_probs(frames, seed)
    for hypothesis in decoders[kind].decode_nbest(log_probs, frame_seconds=FRAME_SECONDS, n=4):
        check_words(hypothesis, frames)


@FUZZ
@given(frames=frame_counts, seed=seeds)
def test_greedy_equals_beam_of_width_one(frames, seed):
    log_probs = random_log_probs(frames, seed)
    greedy = build_decoder("greedy").decode(log_probs, frame_seconds=FRAME_SECONDS)
    beam = build_decoder("beam", beam_width=1).decode(log_probs, frame_seconds=FRAME_SECONDS)
    assert beam.text == greedy.text == greedy_decode(log_probs)
    assert beam.score == pytest.approx(greedy.score, abs=1e-6)
    assert [(w.word, w.start, w.end) for w in beam.words] == [(w.word, w.start, w.end) for w in greedy.words]
    assert [w.confidence for w in beam.words] == pytest.approx([w.confidence for w in greedy.words])


@FUZZ
@given(classes=st.lists(st.integers(0, CLASSES - 1), max_size=40), seed=seeds)
def test_all_decoders_agree_on_peaked_scores(decoders, classes, seed):
    log_probs = peaked_log_probs(classes, seed=seed)
    results = [decoders[kind].decode(log_probs, frame_seconds=FRAME_SECONDS) for kind in KINDS]
    assert len({result.text for result in results}) == 1
    assert len({tuple((w.word, w.start, w.end) for w in result.words) for result in results}) == 1


def two_candidate_lattice(data) -> np.ndarray:
    """Up to 8 frames with two plausible classes each (the rest negligible), so search can be exhaustive.

    Hypothesis picks the structure; the probabilities come from a seeded generator, so no two
    transcripts tie.
    """
    frames = data.draw(st.integers(1, 8))
    pool = data.draw(st.lists(st.sampled_from([BLANK, SPACE, 1, 2, 3]), min_size=2, max_size=5, unique=True))
    rng = np.random.default_rng(data.draw(seeds))
    logits = np.full((frames, CLASSES), -40.0)
    for t in range(frames):
        first, second = data.draw(st.lists(st.sampled_from(pool), min_size=2, max_size=2, unique=True))
        p = rng.uniform(0.1, 0.9)
        logits[t, first], logits[t, second] = np.log(p), np.log(1 - p)
    return log_softmax(logits)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_hotwords_change_the_output_only_towards_the_hotword(data):
    log_probs = two_candidate_lattice(data)
    # Wide enough, and no pruning, so the search is exact on this lattice.
    decoder = build_decoder("beam", beam_width=2048, beam_prune_logp=-1e9)
    plain = decoder.decode(log_probs, frame_seconds=FRAME_SECONDS)
    # A word some path through the lattice spells: the greedy text of a perturbed copy.
    jitter = np.random.default_rng(data.draw(seeds)).uniform(0, 3, size=log_probs.shape)
    reachable = greedy_decode(log_probs + jitter)
    assume(reachable.split())
    hotword = data.draw(st.sampled_from(reachable.split()))
    boosted = decoder.decode(log_probs, frame_seconds=FRAME_SECONDS, hotwords=[hotword])
    before, after = plain.text.split().count(hotword), boosted.text.split().count(hotword)
    assert after >= before
    if boosted.text != plain.text:
        assert after > before


def test_hotword_wins_a_near_tie():
    probs = np.exp(spelled("a cab"))
    b_frames = probs.argmax(axis=1) == LABELS.index("b")
    probs[b_frames, LABELS.index("b")], probs[b_frames, LABELS.index("t")] = 0.5, 0.45  # "cat" a little behind
    log_probs = np.log(probs / probs.sum(axis=1, keepdims=True))
    decoder = build_decoder("beam", beam_width=16)
    assert decoder.decode(log_probs, frame_seconds=FRAME_SECONDS).text == "a cab"
    assert decoder.decode(log_probs, frame_seconds=FRAME_SECONDS, hotwords=["cat"]).text == "a cat"
    assert decoder.decode(log_probs, frame_seconds=FRAME_SECONDS, hotwords=["Cat!"]).text == "a cat"  # normalised


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("frames", [0, 1])
def test_empty_and_single_frame_input(decoders, kind, frames):
    log_probs = random_log_probs(frames, seed=7)
    hypothesis = decoders[kind].decode(log_probs, frame_seconds=FRAME_SECONDS)
    check_words(hypothesis, frames)
    if frames == 0:
        assert hypothesis == Hypothesis(text="", score=0.0, words=())


@pytest.mark.parametrize("kind", KINDS)
def test_spelled_text_is_decoded_with_exact_timings(decoders, kind):
    log_probs = spelled("hi you")  # 3 frames a character: h h _ i i _ ' ' ' ' _ y y _ o o _ u u _
    hypothesis = decoders[kind].decode(log_probs, frame_seconds=FRAME_SECONDS)
    assert hypothesis.text == "hi you"
    assert [(w.word, round(w.start, 6), round(w.end, 6)) for w in hypothesis.words] == [
        ("hi", 0.0, 0.1), ("you", 0.18, 0.34)]
    assert all(w.confidence == pytest.approx(0.9) for w in hypothesis.words)


def test_greedy_confidence_is_the_geometric_mean_of_best_probabilities():
    log_probs = random_log_probs(30, seed=3)
    hypothesis = build_decoder("greedy").decode(log_probs, frame_seconds=FRAME_SECONDS)
    assert hypothesis.words, "seed 3 should give words"
    for word in hypothesis.words:
        start, end = round(word.start / FRAME_SECONDS), round(word.end / FRAME_SECONDS)
        expected = np.exp(log_probs[start:end].max(axis=1).mean())
        assert word.confidence == pytest.approx(expected)


def test_tensorflow_beam_of_width_one_is_not_greedy():
    # Frame 2: "b" is the best class, but "a" continued (blank or "a") holds more mass.
    probs = np.full((2, CLASSES), 1e-6)
    probs[0, LABELS.index("a")] = 0.6
    probs[0, BLANK] = 0.4
    probs[1, [BLANK, LABELS.index("a"), LABELS.index("b")]] = [0.35, 0.25, 0.4]
    log_probs = np.log(probs / probs.sum(axis=1, keepdims=True))
    assert build_decoder("greedy").decode(log_probs, frame_seconds=FRAME_SECONDS).text == "ab"
    assert build_decoder("beam", beam_width=1).decode(log_probs, frame_seconds=FRAME_SECONDS).text == "ab"
    assert build_decoder("beam_tf", beam_width=1).decode(log_probs, frame_seconds=FRAME_SECONDS).text == "a"


@pytest.mark.parametrize("kind", KINDS)
def test_nbest_is_best_first_and_distinct(decoders, kind):
    log_probs = random_log_probs(25, seed=11)
    hypotheses = decoders[kind].decode_nbest(log_probs, frame_seconds=FRAME_SECONDS, n=5)
    assert 1 <= len(hypotheses) <= (1 if kind == "greedy" else 5)
    scores = [h.score for h in hypotheses]
    assert scores == sorted(scores, reverse=True)
    assert len({h.text for h in hypotheses}) == len(hypotheses)
    assert hypotheses[0] == decoders[kind].decode(log_probs, frame_seconds=FRAME_SECONDS)


@pytest.mark.parametrize("kind", KINDS)
def test_batch_matches_one_by_one(decoders, kind):
    utterances = [random_log_probs(n, seed=n) for n in (12, 0, 5)]
    padded = np.stack([np.pad(u, ((0, 12 - len(u)), (0, 0))) for u in utterances])
    batch = decoders[kind].decode_batch(padded, lengths=[12, 0, 5], frame_seconds=FRAME_SECONDS)
    assert batch == [decoders[kind].decode(u, frame_seconds=FRAME_SECONDS) for u in utterances]


def test_logits_and_log_probs_decode_alike():
    logits = np.random.default_rng(5).normal(size=(20, CLASSES)) * 3
    decoder = build_decoder("beam", beam_width=8)
    assert decoder.decode(logits, frame_seconds=0.01) == decoder.decode(log_softmax(logits), frame_seconds=0.01)


BAD_INPUTS = [
    (np.zeros((5,)), "shape (frames, 29)"),
    (np.zeros((5, 28)), "shape (frames, 29)"),
    (np.zeros((2, 5, 29)), "shape (frames, 29)"),
    (np.array([["a"] * 29]), "real-valued"),
    (np.where(np.eye(3, 29) > 0, np.nan, 0.0), "finite"),
    (np.where(np.eye(3, 29) > 0, np.inf, 0.0), "finite"),
    (np.full((2, 29), -np.inf), "frame 0 gives every class probability 0"),
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("log_probs", "message"), BAD_INPUTS)
def test_bad_input_says_what_was_expected(decoders, kind, log_probs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        decoders[kind].decode(log_probs, frame_seconds=FRAME_SECONDS)


@pytest.mark.parametrize(("call", "message"), [
    (lambda d: d.decode_batch(np.zeros((4, 29)), frame_seconds=0.02), r"shape \(batch, frames, 29\)"),
    (lambda d: d.decode_batch(np.zeros((2, 4, 29)), lengths=[1], frame_seconds=0.02), r"lengths of shape \(2,\)"),
    (lambda d: d.decode_batch(np.zeros((2, 4, 29)), lengths=[1, 5], frame_seconds=0.02), r"in \[0, 4\]"),
    (lambda d: d.decode_batch(np.zeros((2, 4, 29)), lengths=[1.5, 2], frame_seconds=0.02), "integers"),
    (lambda d: d.decode(np.zeros((4, 29)), frame_seconds=0), "positive number of seconds"),
    (lambda d: d.decode(np.zeros((4, 29)), frame_seconds=float("nan")), "positive number of seconds"),
    (lambda d: d.decode_nbest(np.zeros((4, 29)), frame_seconds=0.02, n=0), "n must be at least 1"),
])
def test_bad_options_say_what_was_expected(decoders, call, message):
    with pytest.raises(ValueError, match=message):
        call(decoders["beam"])


def test_hotwords_must_be_a_list_and_need_a_beam_decoder(decoders):
    log_probs = spelled("a")
    with pytest.raises(TypeError, match="list of words"):
        decoders["beam"].decode(log_probs, frame_seconds=FRAME_SECONDS, hotwords="cat")
    for kind in ("greedy", "beam_tf"):
        with pytest.raises(ValueError, match="cannot use hotwords"):
            decoders[kind].decode(log_probs, frame_seconds=FRAME_SECONDS, hotwords=["cat"])
    assert decoders["greedy"].decode(log_probs, frame_seconds=FRAME_SECONDS, hotwords=["", "?"]).text == "a"


@pytest.mark.parametrize(("options", "message"), [
    ({"kind": "viterbi"}, "decoder kind must be one of"),
    ({"kind": "beam", "beam_width": 0}, "beam_width must be at least 1"),
    ({"kind": "beam", "beam_width": 8.5}, "beam_width must be at least 1"),
    ({"kind": "lm"}, "lm_path is needed by kind 'lm'"),
    ({"kind": "beam", "lm_path": "lm.bin"}, "only by it"),
    ({"kind": "beam", "unigrams": "words.txt"}, "unigrams belong to a language model"),
    ({"kind": "beam", "alpha": "high"}, "alpha must be a number"),
    ({"kind": "beam", "tuned_on": "dev.jsonl"}, "tuned_on must be a list"),
])
def test_bad_config_says_what_was_expected(options, message):
    with pytest.raises(ValueError, match=message):
        DecoderConfig(**options)


def test_config_round_trips_through_json(tmp_path):
    config = DecoderConfig(kind="lm", beam_width=32, lm_path=tmp_path / "lm.bin", alpha=0.7, beta=2.0,
                           tuned_on=["dev.jsonl"])
    config.save(tmp_path / "decoder.json")
    assert DecoderConfig.load(tmp_path / "decoder.json") == config


def test_saved_paths_are_relative_to_the_config_folder(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    config = DecoderConfig(kind="lm", lm_path=folder / "lm" / "lm.bin", unigrams=tmp_path / "words.txt")
    config.save(folder / "decoding.json")
    saved = json.loads((folder / "decoding.json").read_text())
    assert saved["lm_path"] == "lm/lm.bin"  # inside the folder: moves with it
    assert saved["unigrams"] == str(tmp_path / "words.txt")  # outside: absolute
    moved = tmp_path / "moved"
    folder.rename(moved)
    assert DecoderConfig.load(moved / "decoding.json").lm_path == str(moved / "lm" / "lm.bin")


@pytest.mark.parametrize(("older", "expected"), [
    ({}, DecoderConfig(kind="beam")),  # a model folder without decoding.json
    ({"beam_width": 8}, DecoderConfig(kind="beam", beam_width=8)),
    ({"alpha": 0.8, "beta": 2.0, "beam_width": 128, "lm": "lm/lm.bin", "unigrams": "lm/unigrams.txt",
      "tuned_on": ["dev.jsonl"]},
     DecoderConfig(kind="lm", beam_width=128, lm_path="m/lm/lm.bin", unigrams="m/lm/unigrams.txt", alpha=0.8,
                   beta=2.0, tuned_on=("dev.jsonl",))),
])
def test_an_older_decoding_json_reads_as_before(older, expected):
    assert DecoderConfig.from_dict(older, folder="m") == expected


def test_both_names_of_the_language_model_are_refused():
    with pytest.raises(ValueError, match="not both"):
        DecoderConfig.from_dict({"lm": "a.bin", "lm_path": "b.bin"})


def test_another_kind_keeps_the_options_but_the_language_model():
    config = DecoderConfig(kind="lm", lm_path="lm.bin", unigrams="words.txt", alpha=0.8, beam_width=128)
    beam = config.for_kind("beam", beam_width=8)
    assert (beam.kind, beam.lm_path, beam.unigrams, beam.alpha, beam.beam_width) == ("beam", None, None, 0.8, 8)
    assert beam.for_kind("lm", lm_path="lm.bin", unigrams="words.txt", beam_width=128) == config


def test_missing_language_model_is_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="asr lm build"):
        build_decoder("lm", lm_path=tmp_path / "missing.bin")


# Alignment helpers.

def test_best_path_spells_the_ids_and_beats_other_alignments():
    log_probs = random_log_probs(12, seed=1)
    ids = [LABELS.index(c) for c in "oops"]
    path = best_path(log_probs, ids, blank_index=BLANK)
    collapsed = [c for i, c in enumerate(path) if (i == 0 or c != path[i - 1]) and c != BLANK]
    assert collapsed == ids
    assert path[0] in (BLANK, ids[0]) and path[-1] in (BLANK, ids[-1])
    tight = best_path(log_probs, ids, blank_index=BLANK, tight=True)
    assert tight[0] == ids[0] and tight[-1] == ids[-1]
    score = log_probs[np.arange(12), path].sum()
    assert score >= log_probs[np.arange(12), tight].sum() - 1e-12


@pytest.mark.parametrize(("frames", "text", "tight"), [(2, "oo", False), (2, "abc", False), (4, "", True)])
def test_best_path_refuses_impossible_alignments(frames, text, tight):
    with pytest.raises(ValueError, match="no CTC path"):
        best_path(random_log_probs(frames, seed=0), [LABELS.index(c) for c in text], blank_index=BLANK, tight=tight)


def test_path_words_and_confidence():
    path = np.array([BLANK, 8, BLANK, 9, 9, SPACE, SPACE, BLANK, 1, 1])
    assert path_words(path, alphabet=ALPHABET) == [("hi", 1, 5), ("a", 8, 10)]
    assert path_words(np.array([], dtype=int), alphabet=ALPHABET) == []
    log_probs = np.log(np.full((2, CLASSES), 0.5))
    assert path_confidence(log_probs, np.array([0, 1])) == pytest.approx(0.5)
    assert path_confidence(log_probs[:0], np.array([], dtype=int)) == 0.0
    assert word_confidence(log_probs, [1, 1, 1], blank_index=BLANK) == 0.0  # "aaa" cannot fit in 2 frames
