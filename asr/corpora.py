"""Public corpus layouts read into utterances: LibriSpeech, LJSpeech, Common Voice, Kaldi, CMU ARCTIC, VCTK.

Each reader walks a corpus as it was unpacked, reads every duration from the
audio header and normalises every transcript with :func:`asr.text.normalize_text`.
A bad item (missing or unreadable audio, a malformed line, text that normalises
to nothing or holds letters the alphabet cannot spell) is logged with its file
and line, skipped, and kept in ``Corpus.problems``; with ``strict=True`` the
first one raises :class:`CorpusError` instead. A missing root or index file
always raises.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

from asr.audio import audio_duration
from asr.errors import AudioError, CorpusError, TextError
from asr.manifest import Utterance, UtteranceSequence
from asr.text import normalize_text

logger = logging.getLogger(__name__)

_ARCTIC_LINE = re.compile(r'^\(\s*(\S+)\s+"(.*)"\s*\)$')  # ( arctic_a0001 "Author of the danger trail." )
_ARCTIC_SPEAKER = re.compile(r"^cmu_[a-z]+_(.+?)_arctic$")  # cmu_us_slt_arctic -> slt


@dataclass(frozen=True)
class Corpus(UtteranceSequence):
    """The usable utterances of a corpus and the problems of the items skipped.

    Attributes
    ----------
    root : Path
        The corpus folder, absolute.
    utterances : tuple of Utterance
        In the order of the corpus's index files; audio paths absolute,
        durations in seconds, texts normalised, extra keys ``id``,
        ``speaker`` (where the corpus names one) and ``source``.
    problems : tuple of CorpusError
        One per item skipped.
    """

    root: Path
    utterances: tuple[Utterance, ...]
    problems: tuple[CorpusError, ...] = ()


@dataclass(frozen=True)
class _Item:
    """One transcript before its audio and text are checked, with where it was read."""

    audio: Path
    text: str
    index: Path  # the file that lists this item
    line: int | None  # its 1-based line in ``index``, if any
    extra: dict


def read_librispeech(root: str | PathLike, *, strict: bool = False) -> Corpus:
    """Read a LibriSpeech split: ``<root>/<speaker>/<chapter>/<speaker>-<chapter>.trans.txt``.

    Each transcript line is ``ID TEXT``; the audio is ``ID.flac`` beside it.

    Parameters
    ----------
    root : str or PathLike
        A split folder such as ``LibriSpeech/train-clean-100``.
    strict : bool
        Raise on the first bad item instead of skipping it.

    Returns
    -------
    Corpus
        Extra keys ``id``, ``speaker``, ``chapter``, ``source="librispeech"``.

    Raises
    ------
    CorpusError
        If ``root`` is not a folder or holds no transcript, or (with
        ``strict``) for the first bad item.

    Examples
    --------
    >>> corpus = read_librispeech("LibriSpeech/dev-clean")  # doctest: +SKIP
    >>> corpus[0].text, corpus[0].extra["speaker"]  # doctest: +SKIP
    ('mister quilter is the apostle of the middle classes ...', '1272')
    """
    root = _folder(root)
    transcripts = sorted(root.glob("*/*/*.trans.txt"))
    if not transcripts:
        raise CorpusError(root, None, "no <speaker>/<chapter>/<speaker>-<chapter>.trans.txt found")
    return _collect(root, _librispeech_items(transcripts), strict=strict)


def read_ljspeech(root: str | PathLike, *, strict: bool = False) -> Corpus:
    """Read LJSpeech: ``<root>/metadata.csv`` of ``id|text|normalized_text``, audio ``<root>/wavs/<id>.wav``.

    The normalised column is used when present and not empty, else the raw one.

    Returns
    -------
    Corpus
        Extra keys ``id``, ``speaker="LJ"``, ``source="ljspeech"``.

    Raises
    ------
    CorpusError
        If ``root`` or ``metadata.csv`` is missing, or (with ``strict``) for
        the first bad line.
    """
    root = _folder(root)
    metadata = _index_file(root / "metadata.csv")
    return _collect(root, _ljspeech_items(root, metadata), strict=strict)


def read_common_voice(root: str | PathLike, *, split: str = "validated", strict: bool = False) -> Corpus:
    """Read a Common Voice language folder: ``<root>/<split>.tsv``, audio ``<root>/clips/<path>``.

    Parameters
    ----------
    root : str or PathLike
        The language folder, such as ``cv-corpus-17.0/en``.
    split : str
        Which table to read: ``validated``, ``train``, ``dev``, ``test``, ...
    strict : bool
        Raise on the first bad row instead of skipping it.

    Returns
    -------
    Corpus
        Extra keys ``id`` (the clip's name without extension), ``speaker``
        (the ``client_id``, when that column exists), ``source="common_voice"``.

    Raises
    ------
    CorpusError
        If ``root`` or the table is missing, the table lacks the ``path`` or
        ``sentence`` column, or (with ``strict``) for the first bad row.
    """
    root = _folder(root)
    table = _index_file(root / f"{split}.tsv")
    return _collect(root, _common_voice_items(root, table), strict=strict)


def read_kaldi(data_dir: str | PathLike, *, audio_root: str | PathLike | None = None,
               strict: bool = False) -> Corpus:
    """Read a Kaldi data folder: ``wav.scp`` (``utt path``), ``text`` (``utt words...``), optional ``utt2spk``.

    Parameters
    ----------
    data_dir : str or PathLike
        The folder holding ``wav.scp`` and ``text``.
    audio_root : str or PathLike, optional
        The folder that relative paths in ``wav.scp`` start from (in a Kaldi
        recipe, usually the ``s5`` folder); default ``data_dir``.
    strict : bool
        Raise on the first bad utterance instead of skipping it.

    Returns
    -------
    Corpus
        In the order of ``text``; extra keys ``id``, ``speaker`` (from
        ``utt2spk``, when present), ``source="kaldi"``.

    Raises
    ------
    CorpusError
        If a folder or ``wav.scp``/``text`` is missing, if a ``segments``
        file is present (utterances cut from longer recordings are not
        supported), or (with ``strict``) for the first bad utterance: no
        ``wav.scp`` entry, a piped command (``sox ... |``) instead of a file,
        or a bad audio file or text.
    """
    data_dir = _folder(data_dir)
    if (data_dir / "segments").exists():
        reason = "segments are not supported; cut the recordings into one file per utterance first"
        raise CorpusError(data_dir / "segments", None, reason)
    wav_scp, text_file = _index_file(data_dir / "wav.scp"), _index_file(data_dir / "text")
    utt2spk = data_dir / "utt2spk"
    speakers = {key: value for key, (_, value) in _table(utt2spk).items()} if utt2spk.is_file() else {}
    base = _folder(audio_root) if audio_root is not None else data_dir
    return _collect(data_dir, _kaldi_items(text_file, wav_scp, base, speakers), strict=strict)


def read_cmu_arctic(root: str | PathLike, *, speaker: str | None = None, strict: bool = False) -> Corpus:
    """Read one CMU ARCTIC voice: ``<root>/etc/txt.done.data``, audio ``<root>/wav/<id>.wav``.

    Lines of the index read ``( arctic_a0001 "Author of the danger trail." )``.

    Parameters
    ----------
    root : str or PathLike
        The voice folder, such as ``cmu_us_slt_arctic``.
    speaker : str, optional
        The speaker name to record; default taken from the folder name
        (``cmu_us_slt_arctic`` gives ``slt``).
    strict : bool
        Raise on the first bad line instead of skipping it.

    Returns
    -------
    Corpus
        Extra keys ``id``, ``speaker``, ``source="cmu_arctic"``.

    Raises
    ------
    CorpusError
        If ``root`` or ``etc/txt.done.data`` is missing, or (with ``strict``)
        for the first bad line.
    """
    root = _folder(root)
    index = _index_file(root / "etc" / "txt.done.data")
    if speaker is None:
        match = _ARCTIC_SPEAKER.match(root.name)
        speaker = match.group(1) if match else root.name
    return _collect(root, _cmu_arctic_items(root, index, speaker), strict=strict)


def read_vctk(root: str | PathLike, *, mic: int = 1, strict: bool = False) -> Corpus:
    """Read VCTK: ``<root>/txt/<speaker>/<id>.txt`` with audio in ``wav48`` or ``wav48_silence_trimmed``.

    The audio of a transcript is ``<root>/wav48/<speaker>/<id>.wav`` (VCTK
    0.80) or else ``<root>/wav48_silence_trimmed/<speaker>/<id>_mic<mic>.flac``
    (VCTK 0.92).

    Parameters
    ----------
    root : str or PathLike
        The corpus folder, holding ``txt/``.
    mic : int
        Which microphone of VCTK 0.92 to take (1 or 2).
    strict : bool
        Raise on the first bad item instead of skipping it.

    Returns
    -------
    Corpus
        Extra keys ``id``, ``speaker``, ``source="vctk"``.

    Raises
    ------
    CorpusError
        If ``root`` or ``txt/`` is missing or holds no transcript, or (with
        ``strict``) for the first bad item.
    """
    root = _folder(root)
    transcripts = sorted(_folder(root / "txt").glob("*/*.txt"))
    if not transcripts:
        raise CorpusError(root / "txt", None, "no <speaker>/<id>.txt found")
    return _collect(root, _vctk_items(root, transcripts, mic), strict=strict)


def _librispeech_items(transcripts: list[Path]) -> Iterator[_Item | CorpusError]:
    """The lines of every chapter's transcript; an unreadable transcript is one problem."""
    for transcript in transcripts:
        speaker, chapter = transcript.parent.parent.name, transcript.parent.name
        try:
            lines = _lines(transcript)
        except CorpusError as problem:
            yield problem
            continue
        for number, line in lines:
            utterance_id, _, text = line.partition(" ")
            extra = {"id": utterance_id, "speaker": speaker, "chapter": chapter, "source": "librispeech"}
            yield _Item(transcript.parent / f"{utterance_id}.flac", text, transcript, number, extra)


def _ljspeech_items(root: Path, metadata: Path) -> Iterator[_Item | CorpusError]:
    """The rows of ``metadata.csv``, split on ``|`` (its texts hold unbalanced quotes, so no csv module)."""
    for number, line in _lines(metadata):
        fields = line.split("|")
        if len(fields) < 2 or not fields[0].strip():
            yield CorpusError(metadata, number, f"expected 'id|text|normalized_text', got {line!r}")
            continue
        utterance_id = fields[0].strip()
        text = fields[2] if len(fields) > 2 and fields[2].strip() else fields[1]
        extra = {"id": utterance_id, "speaker": "LJ", "source": "ljspeech"}
        yield _Item(root / "wavs" / f"{utterance_id}.wav", text, metadata, number, extra)


def _common_voice_items(root: Path, table: Path) -> Iterator[_Item | CorpusError]:
    """The rows of a Common Voice table: a header, then tab-separated cells with no quoting."""
    rows = (line.split("\t") for line in _read_lines(table))
    header = [column.strip() for column in next(rows, [])]
    missing = [column for column in ("path", "sentence") if column not in header]
    if missing:
        raise CorpusError(table, 1, f"missing column(s) {', '.join(map(repr, missing))} in header {header!r}")
    for number, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        record = dict(zip(header, row))
        if not record.get("path", "").strip() or "sentence" not in record:
            yield CorpusError(table, number, f"expected {len(header)} tab-separated columns, got {len(row)}")
            continue
        clip = record["path"].strip()
        extra = {"id": Path(clip).stem, **_speaker(record.get("client_id")), "source": "common_voice"}
        yield _Item(root / "clips" / clip, record["sentence"], table, number, extra)


def _kaldi_items(text_file: Path, wav_scp: Path, base: Path, speakers: dict) -> Iterator[_Item | CorpusError]:
    """The lines of ``text``, each joined with its ``wav.scp`` entry and speaker."""
    recordings = _table(wav_scp)
    for number, line in _lines(text_file):
        utterance_id, words = _split_key(line)
        if utterance_id not in recordings:
            yield CorpusError(text_file, number, f"utterance {utterance_id!r} has no entry in {wav_scp}")
            continue
        scp_line, value = recordings[utterance_id]
        if value.endswith("|"):
            reason = f"piped command for {utterance_id!r} is not supported ({value!r}); write the audio to files first"
            yield CorpusError(wav_scp, scp_line, reason)
            continue
        if not value:
            yield CorpusError(wav_scp, scp_line, f"no audio path for {utterance_id!r}")
            continue
        extra = {"id": utterance_id, **_speaker(speakers.get(utterance_id)), "source": "kaldi"}
        yield _Item(base / value, words, text_file, number, extra)


def _cmu_arctic_items(root: Path, index: Path, speaker: str) -> Iterator[_Item | CorpusError]:
    """The lines of ``txt.done.data``."""
    for number, line in _lines(index):
        match = _ARCTIC_LINE.match(line)
        if not match:
            yield CorpusError(index, number, f'expected \'( id "text" )\', got {line!r}')
            continue
        utterance_id, text = match.groups()
        extra = {"id": utterance_id, "speaker": speaker, "source": "cmu_arctic"}
        yield _Item(root / "wav" / f"{utterance_id}.wav", text, index, number, extra)


def _vctk_items(root: Path, transcripts: list[Path], mic: int) -> Iterator[_Item | CorpusError]:
    """One item per transcript file, its audio from either VCTK release."""
    for transcript in transcripts:
        speaker, utterance_id = transcript.parent.name, transcript.stem
        candidates = (root / "wav48" / speaker / f"{utterance_id}.wav",
                      root / "wav48_silence_trimmed" / speaker / f"{utterance_id}_mic{mic}.flac")
        audio = next((candidate for candidate in candidates if candidate.is_file()), None)
        if audio is None:
            yield CorpusError(transcript, None, f"no audio: neither {candidates[0]} nor {candidates[1]} exists")
            continue
        try:
            text = " ".join(line for _, line in _lines(transcript))
        except CorpusError as problem:
            yield problem
            continue
        yield _Item(audio, text, transcript, None, {"id": utterance_id, "speaker": speaker, "source": "vctk"})


def _collect(root: Path, items: Iterable[_Item | CorpusError], *, strict: bool) -> Corpus:
    """Turn items into utterances, skipping (or with ``strict``, raising) the bad ones."""
    utterances, problems = [], []
    for item in items:
        problem = item if isinstance(item, CorpusError) else None
        if problem is None:
            try:
                utterances.append(_utterance(item))
                continue
            except CorpusError as error:
                problem = error
        if strict:
            raise problem
        logger.warning("%s; item skipped", problem)
        problems.append(problem)
    if problems:
        logger.warning("%s: skipped %d bad item(s) of %d", root, len(problems), len(problems) + len(utterances))
    return Corpus(root=root, utterances=tuple(utterances), problems=tuple(problems))


def _utterance(item: _Item) -> Utterance:
    """Read the duration and normalise the text of one item, or raise CorpusError saying why not."""
    try:
        duration = audio_duration(item.audio)
    except AudioError as error:
        raise CorpusError(item.index, item.line, f"audio {error}") from error
    if duration <= 0:
        raise CorpusError(item.index, item.line, f"audio {item.audio}: has no samples")
    try:
        text = normalize_text(item.text, strict=True)
    except TextError as error:
        raise CorpusError(item.index, item.line, str(error)) from error
    if not text:
        raise CorpusError(item.index, item.line, f"empty text after normalising {item.text!r}")
    return Utterance(audio_filepath=item.audio.resolve(), duration=duration, text=text, extra=item.extra)


def _folder(path: str | PathLike) -> Path:
    """Return ``path`` absolute, or raise CorpusError unless it is a folder."""
    path = Path(path)
    if not path.exists():
        raise CorpusError(path, None, "no such folder")
    if not path.is_dir():
        raise CorpusError(path, None, "not a folder")
    return path.resolve()


def _index_file(path: Path) -> Path:
    """Return ``path``, or raise CorpusError unless it is a file."""
    if not path.is_file():
        raise CorpusError(path, None, "index file not found" if not path.exists() else "index is not a file")
    return path


def _lines(path: Path) -> list[tuple[int, str]]:
    """The stripped, non-blank lines of a text file with their 1-based numbers."""
    numbered = enumerate(_read_lines(path), start=1)
    return [(number, line.strip()) for number, line in numbered if line.strip()]


def _read_lines(path: Path) -> list[str]:
    """All lines of a UTF-8 text file (a byte-order mark dropped), or CorpusError naming it."""
    try:
        return path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise CorpusError(path, None, f"cannot read ({error})") from error


def _table(path: Path) -> dict[str, tuple[int, str]]:
    """A Kaldi table (``key value...``) as ``{key: (line number, value)}``; the first entry of a key wins."""
    table = {}
    for number, line in _lines(path):
        key, value = _split_key(line)
        table.setdefault(key, (number, value))
    return table


def _split_key(line: str) -> tuple[str, str]:
    """Split a Kaldi line into its key and the rest, at the first run of whitespace."""
    key, *rest = line.split(maxsplit=1)
    return key, rest[0] if rest else ""


def _speaker(name: str | None) -> dict:
    """``{"speaker": name}``, or nothing when the corpus gives no name."""
    return {"speaker": name.strip()} if name and name.strip() else {}
