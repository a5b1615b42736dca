"""Language models: `asr lm build` with KenLM's programs, and the LM decoder that uses the result."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asr.cli import main
from asr.decoders import build_decoder
from asr.errors import LanguageModelError
from asr.lm import (KENLM_BIN_ENV, LmConfig, arpa_ngram_counts, build_language_model, find_kenlm_program,
                    kenlm_available, load_unigrams, resolve_model)
from conftest import CLASSES, LABELS, check_words, peaked_log_probs, spelled

needs_kenlm = pytest.mark.skipif(not kenlm_available(), reason=(
    "KenLM's lmplz and build_binary not found (run scripts/build_kenlm.sh, or set ASR_KENLM_BIN)"))

CORPUS = """The cat sat on the mat.
The cat sat on the hat!
A dog sat on the log; the dog ate 2 bones.
THE CAT AND THE DOG SAT — on the mat, again.
"""
FRAME_SECONDS = 0.02  # a stride-2 model on 10 ms features
SMALL = LmConfig(order=3, discount_fallback=True, memory="64M")  # tiny corpora need fixed discounts


@pytest.fixture(scope="module")
def corpus_file(tmp_path_factory) -> Path:
    """A few sentences with case, punctuation and a digit for the normaliser."""
    path = tmp_path_factory.mktemp("text") / "corpus.txt"
    path.write_text(CORPUS, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory, corpus_file):
    """A trigram model of the corpus."""
    if not kenlm_available():
        pytest.skip("KenLM's lmplz and build_binary not found (run scripts/build_kenlm.sh, or set ASR_KENLM_BIN)")
    return build_language_model([corpus_file], tmp_path_factory.mktemp("lm"), config=SMALL)


@needs_kenlm
def test_cli_build_writes_arpa_binary_and_unigrams(tmp_path, corpus_file, capsys):
    output = tmp_path / "lm"
    code = main(["lm", "build", "--text", str(corpus_file), "--order", "3", "--output", str(output),
                 "--discount-fallback", "--memory", "64M"])
    assert code == 0, capsys.readouterr().err
    assert (output / "lm.arpa").read_text(encoding="utf-8").startswith("\\data\\")
    assert (output / "lm.bin").stat().st_size > 0
    assert "lm.bin" in capsys.readouterr().out
    import kenlm

    model = kenlm.Model(str(output / "lm.bin"))
    assert model.order == 3
    assert model.score("the cat sat on the mat") > model.score("mat the on sat cat the")


@needs_kenlm
def test_text_is_normalised_before_counting(tiny_lm):
    words = load_unigrams(tiny_lm.unigrams)
    assert words[0] == "the"  # most frequent first
    assert {"cat", "dog", "two", "bones", "again"} <= set(words)
    assert all(word == word.lower() and word.isalpha() for word in words)
    assert tiny_lm.sentences == 4
    assert tiny_lm.ngram_counts == arpa_ngram_counts(tiny_lm.arpa)
    assert tiny_lm.ngram_counts[0] == len(words) + 3  # plus <s>, </s>, <unk>


@needs_kenlm
def test_pruning_and_vocabulary_limit_make_the_model_smaller(tmp_path, corpus_file, tiny_lm):
    pruned = build_language_model([corpus_file], tmp_path / "pruned",
                                  config=LmConfig(order=3, prune=(0, 1), discount_fallback=True, memory="64M"))
    assert pruned.ngram_counts[1] < tiny_lm.ngram_counts[1]
    assert pruned.ngram_counts[2] < tiny_lm.ngram_counts[2]
    small = build_language_model([corpus_file], tmp_path / "small",
                                 config=LmConfig(order=3, vocab_size=3, quantize_bits=8, discount_fallback=True,
                                                 memory="64M"))
    assert load_unigrams(small.unigrams) == ["the", "on", "sat"]  # counts 9, 4, 4 (ties alphabetical)
    assert small.ngram_counts[0] == 3 + 3


@needs_kenlm
def test_existing_model_is_kept_unless_overwrite(tiny_lm, corpus_file):
    folder = tiny_lm.binary.parent
    with pytest.raises(FileExistsError, match="--overwrite"):
        build_language_model([corpus_file], folder, config=SMALL)
    assert build_language_model([corpus_file], folder, config=SMALL, overwrite=True).binary.is_file()


@needs_kenlm
def test_failures_name_the_cause(tmp_path):
    empty = tmp_path / "punctuation.txt"
    empty.write_text("!!! ...\n\n", encoding="utf-8")
    with pytest.raises(LanguageModelError, match="no words left"):
        build_language_model([empty], tmp_path / "a", config=SMALL)
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("café crème\n".encode("latin-1"))
    with pytest.raises(LanguageModelError, match="not UTF-8"):
        build_language_model([latin1], tmp_path / "b", config=SMALL)
    too_small = tmp_path / "two.txt"
    too_small.write_text("a b\n", encoding="utf-8")
    with pytest.raises(LanguageModelError, match="--discount-fallback"):
        build_language_model([too_small], tmp_path / "c", config=LmConfig(order=3, memory="64M"))
    assert not (tmp_path / "c" / "lm.arpa").exists()  # a failed build leaves no model behind


def test_missing_programs_say_how_to_build_them(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(KENLM_BIN_ENV, str(tmp_path))
    with pytest.raises(LanguageModelError, match="scripts/build_kenlm.sh"):
        find_kenlm_program("lmplz")
    assert not kenlm_available()
    text = tmp_path / "t.txt"
    text.write_text("hello\n", encoding="utf-8")
    assert main(["lm", "build", "--text", str(text), "--output", str(tmp_path / "lm")]) == 1
    assert "scripts/build_kenlm.sh" in capsys.readouterr().err


@pytest.mark.parametrize(("options", "message"), [
    ({"order": 0}, r"order must be in \[1, 6\]"),
    ({"order": 7}, r"order must be in \[1, 6\]"),
    ({"order": 2, "prune": (0, 1, 1)}, "at most 2 thresholds"),
    ({"prune": (1,)}, "must start with 0"),
    ({"prune": (0, 2, 1)}, "non-decreasing"),
    ({"vocab_size": 0}, "vocab_size must be at least 1"),
    ({"quantize_bits": 30}, r"quantize_bits must be in \[1, 25\]"),
])
def test_bad_config_says_what_was_expected(options, message):
    with pytest.raises(ValueError, match=message):
        LmConfig(**options)


def test_cli_usage_errors(tmp_path, capsys):
    assert main(["lm"]) == 2
    with pytest.raises(SystemExit) as caught:
        main(["lm", "tune"])
    assert caught.value.code == 2
    assert "required: --model, --manifest" in capsys.readouterr().err
    assert main(["lm", "build", "--text", str(tmp_path / "missing.txt"), "--output", str(tmp_path)]) == 2
    assert "missing.txt" in capsys.readouterr().err


@needs_kenlm
def test_model_folder_resolves_to_binary_and_unigrams(tiny_lm):
    model, unigrams = resolve_model(tiny_lm.binary.parent)
    assert (model, unigrams) == (tiny_lm.binary, tiny_lm.unigrams)


def ambiguous(text: str, letters: str, *, lead: float) -> np.ndarray:
    """``text`` spelled clearly, except that each of ``letters`` is shared with a rival.

    Where ``text`` has ``letters[0]``, the rival ``letters[1]`` gets ``lead`` more probability.
    """
    probs = np.exp(spelled(text))
    first, rival = LABELS.index(letters[0]), LABELS.index(letters[1])
    frames = probs.argmax(axis=1) == first
    probs[frames, first], probs[frames, rival] = 0.45 - lead / 2, 0.45 + lead / 2
    return np.log(probs / probs.sum(axis=1, keepdims=True))


@needs_kenlm
@pytest.mark.parametrize("lead", [0.0, 0.06])
def test_lm_prefers_in_vocabulary_words_over_acoustically_equal_ones(tiny_lm, lead):
    log_probs = ambiguous("the cat sat", "ck", lead=lead)  # "the kat sat" as likely (or a little more)
    if lead:
        assert build_decoder("beam").decode(log_probs, frame_seconds=FRAME_SECONDS).text == "the kat sat"
    decoder = build_decoder("lm", lm_path=tiny_lm.binary.parent, alpha=0.5, beta=1.0)
    hypothesis = decoder.decode(log_probs, frame_seconds=FRAME_SECONDS)
    assert hypothesis.text == "the cat sat"
    check_words(hypothesis, len(log_probs), FRAME_SECONDS)
    assert [w.word for w in hypothesis.words] == ["the", "cat", "sat"]


@needs_kenlm
def test_lm_nbest_and_hotwords(tiny_lm):
    log_probs = ambiguous("the cat sat", "ck", lead=0.0)
    # An out-of-vocabulary hotword has to beat the unknown-word penalty (-10) and the LM's own preference.
    decoder = build_decoder("lm", lm_path=tiny_lm.binary, beam_width=16, alpha=0.5, beta=1.0,
                            beam_prune_logp=-50.0, hotword_weight=25.0)
    nbest = decoder.decode_nbest(log_probs, frame_seconds=FRAME_SECONDS, n=4)
    assert nbest[0].text == "the cat sat"
    assert "the kat sat" in [h.text for h in nbest]
    assert [h.score for h in nbest] == sorted((h.score for h in nbest), reverse=True)
    boosted = decoder.decode(log_probs, frame_seconds=FRAME_SECONDS, hotwords=["kat"])
    assert boosted.text == "the kat sat"


@pytest.fixture(scope="module")
def lm_decoder(tiny_lm):
    """An LM decoder over the tiny model, small beam."""
    return build_decoder("lm", lm_path=tiny_lm.binary.parent, beam_width=8)


@needs_kenlm
@settings(max_examples=25, deadline=None)
@given(classes=st.lists(st.integers(0, CLASSES - 1), max_size=30), seed=st.integers(0, 2**32 - 1))
def test_lm_decoder_agrees_with_the_others_on_peaked_scores(lm_decoder, classes, seed):
    log_probs = peaked_log_probs(classes, seed=seed)
    greedy = build_decoder("greedy").decode(log_probs, frame_seconds=FRAME_SECONDS)
    hypothesis = lm_decoder.decode(log_probs, frame_seconds=FRAME_SECONDS)
    assert hypothesis.text == greedy.text
    assert [(w.word, w.start, w.end) for w in hypothesis.words] == [(w.word, w.start, w.end) for w in greedy.words]


@needs_kenlm
@pytest.mark.parametrize("frames", [0, 1])
def test_lm_decoder_handles_empty_and_single_frame(lm_decoder, frames):
    hypothesis = lm_decoder.decode(np.log(np.full((frames, CLASSES), 1 / CLASSES)), frame_seconds=FRAME_SECONDS)
    check_words(hypothesis, frames, FRAME_SECONDS)


@needs_kenlm
def test_a_manifest_contributes_its_transcripts(tmp_path, corpus_file):
    from asr.manifest import Utterance, write_manifest

    manifest = tmp_path / "train.jsonl"
    write_manifest([Utterance(audio_filepath=tmp_path / "a.wav", duration=1.0, text="zebras graze quietly")],
                   manifest)
    result = build_language_model([corpus_file, manifest], tmp_path / "lm", config=SMALL)
    words = load_unigrams(result.unigrams)
    assert {"zebras", "graze", "quietly", "cat"} <= set(words)
    assert "audio_filepath" not in words and result.sentences == 5


@needs_kenlm
def test_word_prefix_set_decodes_as_pyctcdecodes_own_trie(tiny_lm):
    from pyctcdecode import build_ctcdecoder

    from asr.alphabet import Alphabet
    from asr.decoders import _lm_decoder_with_word_prefixes
    from asr.lm import load_unigrams

    words = list(load_unigrams(tiny_lm.unigrams))
    ours = _lm_decoder_with_word_prefixes(Alphabet(), str(tiny_lm.binary), words, alpha=0.5, beta=1.0)
    theirs = build_ctcdecoder(Alphabet().labels, kenlm_model_path=str(tiny_lm.binary), unigrams=words,
                              alpha=0.5, beta=1.0)
    rng = np.random.default_rng(3)
    for log_probs in [ambiguous("the cat sat", "ck", lead=0.0), ambiguous("a dog ran", "do", lead=0.1),
                      *(np.log(rng.dirichlet(np.ones(CLASSES) * 0.3, size=40)) for _ in range(5))]:
        expected = [(beam[0], round(beam[-1], 4)) for beam in theirs.decode_beams(log_probs, beam_width=16)]
        assert [(beam[0], round(beam[-1], 4)) for beam in ours.decode_beams(log_probs, beam_width=16)] == expected


@needs_kenlm
@pytest.mark.parametrize("seed", range(4))
def test_lm_search_fed_in_chunks_gives_the_whole_utterances_beams(tiny_lm, seed):
    decoder = build_decoder("lm", lm_path=tiny_lm.binary.parent, beam_width=16, alpha=0.5, beta=1.0)
    rng = np.random.default_rng(seed)
    log_probs = [ambiguous("the cat sat on the mat", "ck", lead=0.0), ambiguous("a dog sat", "do", lead=0.1),
                 np.log(rng.dirichlet(np.ones(CLASSES) * 0.3, size=40)), spelled("the dog ate")][seed]
    hotwords = ["kat"] if seed == 0 else []
    expected = decoder.decode_nbest(log_probs, frame_seconds=FRAME_SECONDS, n=5, hotwords=hotwords)
    theirs = decoder._decoder.decode_beams(log_probs, beam_width=16, prune_history=False, hotwords=hotwords or None,
                                           hotword_weight=decoder.config.hotword_weight)
    assert [h.text for h in expected] == [beam[0] for beam in theirs[:5]]  # the search is pyctcdecode's
    stream = decoder.stream(frame_seconds=FRAME_SECONDS, hotwords=hotwords)
    for chunk in np.array_split(log_probs, sorted(rng.integers(0, len(log_probs), size=4))):
        stream.push(chunk)
        assert stream.partial == " ".join(stream.partial.split())  # words, single spaces
    assert stream.finish(n=5) == expected
