"""N-gram language models: build ARPA and binary KenLM models from text, and find them again.

Building uses KenLM's own programs, ``lmplz`` (counts and Kneser-Ney
smoothing, writes ARPA) and ``build_binary`` (ARPA to a memory-mappable
binary). Debian does not package them; ``scripts/build_kenlm.sh`` compiles
them from the ``kenlm`` source distribution on PyPI. They are looked for in
``$ASR_KENLM_BIN``, then on ``PATH``, then in ``~/.local/bin`` (the script's
default).

A model folder written by :func:`build_language_model` holds ``lm.arpa``,
``lm.bin``, ``unigrams.txt`` (the vocabulary pyctcdecode needs, one word a
line, most frequent first) and ``lm.json`` (the :class:`LmConfig` and counts).
All text goes through :func:`asr.text.normalize_text` first, the same
normaliser as the training labels and the decoders' output.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from os import PathLike
from pathlib import Path

from asr.errors import LanguageModelError
from asr.manifest import read_manifest
from asr.text import normalize_text

log = logging.getLogger(__name__)

KENLM_BIN_ENV = "ASR_KENLM_BIN"  # a folder holding lmplz and build_binary; searched first when set
DEFAULT_KENLM_BIN = Path.home() / ".local" / "bin"  # where scripts/build_kenlm.sh installs by default
BUILD_SCRIPT = "scripts/build_kenlm.sh"  # compiles the two programs (relative to the checkout)
KENLM_PROGRAMS = ("lmplz", "build_binary")
MAX_ORDER = 6  # KENLM_MAX_ORDER of the default KenLM build and of the kenlm Python wheel

ARPA_NAME = "lm.arpa"  # the model as ARPA text (portable, slow to load)
BINARY_NAME = "lm.bin"  # the model in KenLM's binary trie format (what decoders load)
UNIGRAMS_NAME = "unigrams.txt"  # the model's words, one a line, for pyctcdecode
CONFIG_NAME = "lm.json"  # the LmConfig and counts the model was built with
MANIFEST_SUFFIX = ".jsonl"  # a text input with this suffix is a manifest: its transcripts are the text

_STDERR_LINES = 6  # lines of a failing program's stderr quoted in the error


@dataclass(frozen=True)
class LmConfig:
    """How to build an n-gram model.

    Examples
    --------
    >>> LmConfig(order=3, prune=(0, 1)).order
    3
    """

    order: int = 4  # n-gram order, 1 to MAX_ORDER
    prune: tuple[int, ...] = ()  # lmplz --prune: drop n-grams seen at most this often, per order from unigrams
    #   (first 0, non-decreasing; the last value applies to higher orders); () keeps all n-grams
    vocab_size: int | None = None  # keep only the most frequent words (the rest become <unk>); None keeps all
    quantize_bits: int | None = None  # bits per probability and backoff in the binary (e.g. 8); None: 32-bit floats
    discount_fallback: bool = False  # let lmplz use fixed discounts where a small corpus cannot estimate them
    memory: str = "1G"  # lmplz sorting memory, GNU sort syntax (512M, 2G, 10%)

    def __post_init__(self):
        object.__setattr__(self, "prune", tuple(int(value) for value in self.prune))
        if not 1 <= self.order <= MAX_ORDER:
            raise ValueError(f"order must be in [1, {MAX_ORDER}], got {self.order}")
        self._check_prune()
        if self.vocab_size is not None and self.vocab_size < 1:
            raise ValueError(f"vocab_size must be at least 1 or None, got {self.vocab_size}")
        if self.quantize_bits is not None and not 1 <= self.quantize_bits <= 25:
            raise ValueError(f"quantize_bits must be in [1, 25] or None, got {self.quantize_bits}")

    def _check_prune(self) -> None:
        """Pruning thresholds as lmplz accepts them: at most one per order, first 0, non-decreasing."""
        prune = self.prune
        if len(prune) > self.order:
            raise ValueError(f"prune takes at most {self.order} thresholds (one per order), got {prune}")
        if prune and prune[0] != 0:
            raise ValueError(f"prune must start with 0 (lmplz does not prune unigrams; use vocab_size), got {prune}")
        if any(later < earlier for earlier, later in zip(prune, prune[1:])) or any(value < 0 for value in prune):
            raise ValueError(f"prune thresholds must be non-negative and non-decreasing, got {prune}")


@dataclass(frozen=True)
class LanguageModelFiles:
    """The files of a built model and what went into it.

    Attributes
    ----------
    arpa, binary, unigrams : Path
        ``lm.arpa``, ``lm.bin`` and ``unigrams.txt`` in the output folder.
    config : LmConfig
        The options it was built with.
    sentences : int
        Non-empty lines after normalisation.
    words : int
        Running words counted.
    ngram_counts : tuple of int
        Number of n-grams of each order in the model (unigrams first).
    """

    arpa: Path
    binary: Path
    unigrams: Path
    config: LmConfig
    sentences: int
    words: int
    ngram_counts: tuple[int, ...]


def build_language_model(texts: Sequence[str | PathLike], output: str | PathLike, *,
                         config: LmConfig = LmConfig(), overwrite: bool = False) -> LanguageModelFiles:
    """Normalise text files and build an ARPA and a binary KenLM model from them.

    Parameters
    ----------
    texts : sequence of path
        UTF-8 text files, one sentence (or utterance) per line, or JSON-lines
        manifests (``.jsonl``), whose transcripts are used.
    output : path
        Folder to write ``lm.arpa``, ``lm.bin``, ``unigrams.txt`` and
        ``lm.json`` into; created if missing.
    config : LmConfig
        Order, pruning and size options.
    overwrite : bool
        Replace a model already in ``output`` instead of refusing.

    Returns
    -------
    LanguageModelFiles

    Raises
    ------
    FileNotFoundError
        If a text file is missing.
    FileExistsError
        If ``output`` already holds a model and ``overwrite`` is False.
    LanguageModelError
        If KenLM's programs are missing (the message says how to build them),
        a text is not UTF-8, no words are left, or a program fails.

    Examples
    --------
    >>> build_language_model(["corpus.txt"], "lm/", config=LmConfig(order=3))  # doctest: +SKIP
    """
    texts = _check_texts(texts)
    output = Path(output)
    files = {name: output / name for name in (ARPA_NAME, BINARY_NAME, UNIGRAMS_NAME, CONFIG_NAME)}
    _check_overwrite(files.values(), overwrite)
    lmplz, build_binary = (find_kenlm_program(name) for name in KENLM_PROGRAMS)
    output.mkdir(parents=True, exist_ok=True)
    # Work beside the output (same disk, room for lmplz's temporary files) and move the
    # model in only when both programs succeeded, so a failed build leaves nothing behind.
    with tempfile.TemporaryDirectory(prefix=".asr-lm-", dir=output) as scratch:
        scratch = Path(scratch)
        counts, sentences = _normalise_corpus(texts, scratch / "corpus.txt")
        vocabulary = _vocabulary(counts, config.vocab_size)
        _write_words(vocabulary, scratch / "vocab.txt")  # read by lmplz when vocab_size is set
        _run(_lmplz_command(lmplz, scratch, scratch / ARPA_NAME, config))
        _run(_build_binary_command(build_binary, scratch / ARPA_NAME, scratch / BINARY_NAME, config))
        for name in (ARPA_NAME, BINARY_NAME):
            os.replace(scratch / name, files[name])
    _write_words(vocabulary, files[UNIGRAMS_NAME])
    result = LanguageModelFiles(arpa=files[ARPA_NAME], binary=files[BINARY_NAME], unigrams=files[UNIGRAMS_NAME],
                                config=config, sentences=sentences, words=sum(counts.values()),
                                ngram_counts=arpa_ngram_counts(files[ARPA_NAME]))
    _write_summary(result, files[CONFIG_NAME])
    return result


def find_kenlm_program(name: str) -> Path:
    """Path of one of KenLM's programs (``lmplz``, ``build_binary``).

    Looks in ``$ASR_KENLM_BIN`` when it is set (and only there), else on
    ``PATH``, else in ``~/.local/bin``.

    Raises
    ------
    LanguageModelError
        If the program is not found; the message says how to build it.
    """
    folder = os.environ.get(KENLM_BIN_ENV)
    if folder:
        candidate = Path(folder) / name
        if _is_executable(candidate):
            return candidate
        raise LanguageModelError(f"KenLM's {name} is not in ${KENLM_BIN_ENV}={folder}; build it with "
                                 f"`{BUILD_SCRIPT} --prefix DIR` and set {KENLM_BIN_ENV}=DIR/bin, "
                                 f"or unset {KENLM_BIN_ENV} to search PATH and {DEFAULT_KENLM_BIN}")
    found = shutil.which(name)
    if found:
        return Path(found)
    candidate = DEFAULT_KENLM_BIN / name
    if _is_executable(candidate):
        return candidate
    raise LanguageModelError(f"KenLM's {name} not found on PATH or in {DEFAULT_KENLM_BIN}; build it with "
                             f"`{BUILD_SCRIPT}` (it lists the Debian packages it needs), or point "
                             f"{KENLM_BIN_ENV} at the folder holding it")


def kenlm_available() -> bool:
    """Whether both ``lmplz`` and ``build_binary`` can be found."""
    try:
        for name in KENLM_PROGRAMS:
            find_kenlm_program(name)
    except LanguageModelError:
        return False
    return True


def resolve_model(path: str | PathLike) -> tuple[Path, Path | None]:
    """The model file and its ``unigrams.txt`` (or None) for a model file or folder.

    Parameters
    ----------
    path : path
        A KenLM model (binary or ARPA), or a folder written by
        :func:`build_language_model` (its ``lm.bin``, else ``lm.arpa``).

    Raises
    ------
    FileNotFoundError
        If there is no model at ``path``.
    """
    path = Path(path)
    if path.is_dir():
        candidates = [path / BINARY_NAME, path / ARPA_NAME]
        model = next((candidate for candidate in candidates if candidate.is_file()), None)
        if model is None:
            raise FileNotFoundError(f"no {BINARY_NAME} or {ARPA_NAME} in {path}; build one with `asr lm build`")
    elif path.is_file():
        model = path
    else:
        raise FileNotFoundError(f"language model {path} not found; build one with `asr lm build`")
    unigrams = model.parent / UNIGRAMS_NAME
    return model, unigrams if unigrams.is_file() else None


def load_unigrams(path: str | PathLike) -> list[str]:
    """The words of a ``unigrams.txt``, one a line, in file order."""
    with open(path, encoding="utf-8") as lines:
        return [line.strip() for line in lines if line.strip()]


def arpa_ngram_counts(path: str | PathLike) -> tuple[int, ...]:
    """Number of n-grams of each order, from an ARPA file's ``\\data\\`` header."""
    counts = []
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            if line.startswith("ngram "):
                counts.append(int(line.split("=", 1)[1]))
            elif line.startswith("\\1-grams:"):
                break
    return tuple(counts)


def _check_texts(texts: Sequence[str | PathLike]) -> list[Path]:
    """The text files as paths; each must exist."""
    if isinstance(texts, (str, PathLike)):
        texts = [texts]
    texts = [Path(text) for text in texts]
    if not texts:
        raise ValueError("expected at least one text file, got none")
    for text in texts:
        if not text.is_file():
            raise FileNotFoundError(f"text file {text} not found")
    return texts


def _check_overwrite(paths: Iterable[Path], overwrite: bool) -> None:
    """Refuse to replace an existing model unless asked to."""
    existing = [path for path in paths if path.exists()]
    if existing and not overwrite:
        raise FileExistsError(f"a model is already in {existing[0].parent} ({', '.join(p.name for p in existing)}); "
                              f"pass overwrite=True (--overwrite) to replace it")


def _normalise_corpus(texts: Sequence[Path], corpus: Path) -> tuple[Counter, int]:
    """Write every non-empty normalised line to ``corpus``; return word counts and line count."""
    counts: Counter = Counter()
    sentences = 0
    with open(corpus, "w", encoding="utf-8") as out:
        for text in texts:
            for line in _read_lines(text):
                line = normalize_text(line)
                if line:
                    out.write(line + "\n")
                    counts.update(line.split())
                    sentences += 1
    if not counts:
        raise LanguageModelError(f"no words left after normalising {', '.join(map(str, texts))}")
    return counts, sentences


def _read_lines(path: Path) -> Iterable[str]:
    """Lines of a UTF-8 text file, or the transcripts of a JSON-lines manifest (``.jsonl``)."""
    if path.suffix == MANIFEST_SUFFIX:
        yield from (utterance.text for utterance in read_manifest(path, check_audio=False))
        return
    try:
        with open(path, encoding="utf-8") as lines:
            yield from lines
    except UnicodeDecodeError as error:
        raise LanguageModelError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from error


def _vocabulary(counts: Counter, size: int | None) -> list[str]:
    """Words by falling count (ties alphabetical), the ``size`` most frequent when given."""
    words = sorted(counts, key=lambda word: (-counts[word], word))
    return words if size is None else words[:size]


def _write_words(words: Sequence[str], path: Path) -> None:
    """One word a line."""
    path.write_text("".join(word + "\n" for word in words), encoding="utf-8")


def _lmplz_command(lmplz: Path, scratch: Path, arpa: Path, config: LmConfig) -> list[str]:
    """The lmplz call for ``config``: counts the scratch corpus into ``arpa``."""
    command = [str(lmplz), "--order", str(config.order), "--text", str(scratch / "corpus.txt"),
               "--arpa", str(arpa), "--memory", config.memory, "--temp_prefix", str(scratch) + os.sep]
    if config.prune:
        command += ["--prune", *map(str, config.prune)]
    if config.vocab_size is not None:
        command += ["--limit_vocab_file", str(scratch / "vocab.txt")]
    if config.discount_fallback:
        command += ["--discount_fallback"]
    return command


def _build_binary_command(build_binary: Path, arpa: Path, binary: Path, config: LmConfig) -> list[str]:
    """The build_binary call: ARPA to a trie, quantised when asked."""
    command = [str(build_binary)]
    if config.quantize_bits is not None:
        bits = str(config.quantize_bits)
        command += ["-q", bits, "-b", bits, "-a", "255"]
    return command + ["trie", str(arpa), str(binary)]


def _run(command: list[str]) -> None:
    """Run a KenLM program; on failure raise with the end of its stderr."""
    name = Path(command[0]).name
    log.debug("running %s", " ".join(command))
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError as error:
        raise LanguageModelError(f"cannot run {command[0]}: {error}") from error
    log.debug("%s said:\n%s", name, result.stderr)
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-_STDERR_LINES:])
        hint = ("\nhint: the corpus is too small to estimate discounts; pass discount_fallback=True "
                "(--discount-fallback)") if "discount_fallback" in result.stderr else ""
        raise LanguageModelError(f"{name} failed with exit code {result.returncode}:\n{tail}{hint}")


def _write_summary(result: LanguageModelFiles, path: Path) -> None:
    """Write the config and counts as JSON beside the model."""
    payload = {"config": asdict(result.config), "sentences": result.sentences, "words": result.words,
               "ngram_counts": list(result.ngram_counts)}
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


def _is_executable(path: Path) -> bool:
    """Whether ``path`` is a file we may run."""
    return path.is_file() and os.access(path, os.X_OK)
