"""Synthetic training speech: sentences of a text file spoken by espeak-ng, flite and festival in many voices.

Every sentence is normalised with :func:`asr.text.normalize_text` and the
engine is given the normalised words, so the audio says exactly its label.
Each sentence gets ``variants`` different renderings, each an (engine, voice,
rate, pitch) drawn by a generator seeded with the seed and the sentence, so a
rerun makes the same choices. Every voice is equally likely unless
``SynthesisConfig.engine_weights`` sets each engine's share. A clip is named
after those choices and the sentence; a clip already in the output folder is
reused, not synthesised again, so an interrupted run resumes where it
stopped.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import math
import os
import random
import re
import shutil
import subprocess
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import soundfile

from asr.audio import audio_duration, load_audio
from asr.constants import SAMPLE_RATE, SECONDS_PER_HOUR
from asr.errors import AsrError, AudioError
from asr.manifest import Utterance, read_manifest, write_manifest
from asr.text import normalize_text

logger = logging.getLogger(__name__)

ESPEAK_WPM = 175  # words per minute: espeak-ng's default speaking rate, our rate 1.0
ESPEAK_PITCH = 50  # espeak-ng's default pitch on its 0-99 scale, our pitch 1.0
ESPEAK_PITCH_PER_OCTAVE = 72  # espeak-ng pitch steps per doubling of f0, measured on en-us (approximate)
ENGINE_TIMEOUT = 120  # s: the longest one clip may take to synthesise
SYNTHESIS_WINDOW = 8  # clips queued per job before their results are taken in order

DEFAULT_VOICES = {
    # Every English accent of espeak-ng 1.51 (``espeak-ng --voices=en``, less the MBROLA voices, which need the
    # non-free mbrola packages), each plain (male) and with one male and two female variants (m1-m8, f1-f5).
    "espeak-ng": ("en-us", "en-us+m1", "en-us+f1", "en-us+f2",
                  "en-us-nyc", "en-us-nyc+m2", "en-us-nyc+f3", "en-us-nyc+f4",
                  "en-gb", "en-gb+m3", "en-gb+f5", "en-gb+f1",
                  "en-gb-x-rp", "en-gb-x-rp+m4", "en-gb-x-rp+f2", "en-gb-x-rp+f3",
                  "en-gb-scotland", "en-gb-scotland+m5", "en-gb-scotland+f4", "en-gb-scotland+f5",
                  "en-gb-x-gbclan", "en-gb-x-gbclan+m6", "en-gb-x-gbclan+f1", "en-gb-x-gbclan+f2",
                  "en-gb-x-gbcwmd", "en-gb-x-gbcwmd+m7", "en-gb-x-gbcwmd+f3", "en-gb-x-gbcwmd+f4",
                  "en-029", "en-029+m8", "en-029+f5", "en-029+f1"),
    # flite's awb_time only speaks times of day and kal is 8 kHz.
    "flite": ("kal16", "slt", "awb", "rms"),
    "festival": ("kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts"),
}
PACKAGES = {"espeak-ng": "espeak-ng", "flite": "flite", "festival": "festival"}  # Debian package of each engine
PROGRAMS = {"espeak-ng": "espeak-ng", "flite": "flite", "festival": "text2wave"}  # the command each engine runs
VOICE_PACKAGES = {  # Debian packages of the voices that do not come with their engine
    "festival": {"kal_diphone": "festvox-kallpc16k", "ked_diphone": "festvox-kdlpc16k",
                 "cmu_us_slt_arctic_hts": "festvox-us-slt-hts"},
}
# Voices whose pitch cannot be set (measured with librosa.pyin): they are only drawn at pitch 1.0.
PITCHLESS_VOICES = frozenset({("flite", "rms"), ("festival", "cmu_us_slt_arctic_hts")})

# Scheme that text2wave runs before speaking: the voice, then the rate and pitch as factors of its own defaults.
# Diphone voices take the rate from Duration_Stretch and the pitch from int_lr_params (their target f0 mean and
# spread); HTS voices ignore both, take the rate from hts_engine's -r and have no pitch control.
FESTIVAL_SETUP = (
    "(begin (voice_{voice})"
    " (Parameter.set 'Duration_Stretch (/ (Parameter.get 'Duration_Stretch) {rate}))"
    " (if (symbol-bound? 'int_lr_params) (set! int_lr_params (mapcar (lambda (p)"
    " (if (member (car p) '(target_f0_mean target_f0_std)) (list (car p) (* {pitch} (car (cdr p)))) p))"
    " int_lr_params)))"
    " (if (symbol-bound? 'hts_engine_params)"
    ' (set! hts_engine_params (append hts_engine_params (list (list "-r" {rate}))))))'
)

MANIFEST_NAME = "manifest.jsonl"
CLIP_FOLDER = "wavs"


class SynthesisError(AsrError):
    """An engine that is missing or fails, a voice it does not have, or a text file that cannot be read."""


@dataclass(frozen=True)
class SynthesisConfig:
    """What to synthesise and with which engines, voices, rates and pitches.

    Attributes
    ----------
    engines : tuple of str
        Engines to use, of ``"espeak-ng"``, ``"flite"`` and ``"festival"``.
    voices : dict of str to tuple of str
        Voices per engine: espeak-ng voice names with an optional ``+variant``
        (``"en-us+f3"``), flite voice names from ``flite -lv``, festival voice
        names from ``(voice.list)``.
    rates : tuple of float
        Speaking rates relative to each voice's default (1.0); 1.2 is 20 %
        faster.
    pitches : tuple of float
        Pitches relative to each voice's default (1.0), as a factor on f0;
        espeak-ng's 0-99 scale only approximates it. The voices in
        ``PITCHLESS_VOICES`` (flite's ``rms``, festival's
        ``cmu_us_slt_arctic_hts``) ignore it and are always drawn at 1.0.
    variants : int
        Renderings per sentence, each a different (engine, voice, rate, pitch).
    engine_weights : dict of str to float, optional
        Each engine's share of the renderings, one positive weight per engine
        in ``engines``; its voices share it equally. Default None: weights equal
        to the numbers of voices, so that every voice is equally likely.
    max_sentences : int, optional
        Stop after this many usable sentences; default all.
    max_hours : float, optional
        Stop once the clips listed reach this many hours of audio (clips reused
        from an earlier run count too); default no limit.
    seed : int
        Seeds the choice of renderings (together with each sentence).
    exclude : frozenset of str
        Sentences that must never be synthesised (the dev and test
        transcripts); compared after normalising both sides.
    """

    engines: tuple[str, ...] = ("espeak-ng", "flite", "festival")
    voices: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_VOICES))
    rates: tuple[float, ...] = (0.85, 1.0, 1.2)
    pitches: tuple[float, ...] = (0.85, 1.0, 1.2)
    variants: int = 1
    engine_weights: dict[str, float] | None = None
    max_sentences: int | None = None
    max_hours: float | None = None
    seed: int = 0
    exclude: frozenset[str] = frozenset()

    def __post_init__(self):
        object.__setattr__(self, "engines", _unique(self.engines))
        object.__setattr__(self, "voices", {engine: _unique(names) for engine, names in self.voices.items()})
        object.__setattr__(self, "rates", _unique(float(rate) for rate in self.rates))
        object.__setattr__(self, "pitches", _unique(float(pitch) for pitch in self.pitches))
        object.__setattr__(self, "exclude", frozenset(normalize_text(text) for text in self.exclude) - {""})
        if self.engine_weights is not None:
            object.__setattr__(self, "engine_weights", dict(self.engine_weights))
        self._check()

    def _check(self) -> None:
        """Raise ValueError for an unknown engine, an engine without voices, or a bad number."""
        unknown = [engine for engine in self.engines if engine not in PACKAGES]
        if unknown or not self.engines:
            raise ValueError(f"engines must be some of {sorted(PACKAGES)}, got {list(self.engines)}")
        silent = [engine for engine in self.engines if not self.voices.get(engine)]
        if silent:
            raise ValueError(f"no voices given for engine(s) {silent}")
        for name, values in (("rates", self.rates), ("pitches", self.pitches)):
            if not values or not all(math.isfinite(value) and value > 0 for value in values):
                raise ValueError(f"{name} must be positive factors, got {values}")
        if self.variants < 1:
            raise ValueError(f"variants must be at least 1, got {self.variants}")
        if self.max_sentences is not None and self.max_sentences < 1:
            raise ValueError(f"max_sentences must be at least 1 or None, got {self.max_sentences}")
        if self.max_hours is not None and not (math.isfinite(self.max_hours) and self.max_hours > 0):
            raise ValueError(f"max_hours must be a positive number of hours or None, got {self.max_hours}")
        weights = self.engine_weights
        if weights is not None and not all(_positive(weights.get(engine)) for engine in self.engines):
            raise ValueError(f"engine_weights must give a positive weight to each of {list(self.engines)}, "
                             f"got {weights}")

    def weights(self) -> list[float]:
        """The weight of each engine in ``engines``: ``engine_weights``, or else its number of voices."""
        if self.engine_weights is None:
            return [float(len(self.voices[engine])) for engine in self.engines]
        return [float(self.engine_weights[engine]) for engine in self.engines]


@dataclass(frozen=True)
class Rendering:
    """One way of speaking a sentence: engine, voice, rate and pitch (factors of the defaults)."""

    engine: str
    voice: str
    rate: float
    pitch: float

    def clip_name(self, text: str) -> str:
        """The file name of this rendering of ``text``: the settings and a hash of the text."""
        digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]
        voice = re.sub(r"[^A-Za-z0-9]+", "_", self.voice)
        return f"{self.engine}_{voice}_r{self.rate:g}_p{self.pitch:g}_{digest}.wav"


@dataclass(frozen=True)
class SynthesisResult:
    """What a run wrote and what it left out.

    Attributes
    ----------
    manifest : Path
        The manifest written, listing every clip of this run.
    utterances : tuple of Utterance
        Its lines: 16 kHz mono wav clips, durations in seconds.
    synthesised : int
        Clips made by this run.
    reused : int
        Clips found from an earlier run and kept.
    excluded : int
        Sentences left out because they are in ``exclude``.
    empty : int
        Lines left out because nothing speakable was left after normalising.
    duplicates : int
        Lines left out because their normalised text came earlier.
    """

    manifest: Path
    utterances: tuple[Utterance, ...]
    synthesised: int = 0
    reused: int = 0
    excluded: int = 0
    empty: int = 0
    duplicates: int = 0

    @property
    def duration(self) -> float:
        """Seconds of audio in all clips."""
        return sum(utterance.duration for utterance in self.utterances)


def synthesize_corpus(text_file: str | PathLike, output_dir: str | PathLike, *,
                      config: SynthesisConfig | None = None, jobs: int = 1) -> SynthesisResult:
    """Speak the sentences of a text file into 16 kHz wav clips and write their manifest.

    Parameters
    ----------
    text_file : str or PathLike
        UTF-8 text, one sentence per line; blank lines are ignored.
    output_dir : str or PathLike
        Gets ``wavs/*.wav`` (16 kHz mono, 16-bit) and ``manifest.jsonl``.
    config : SynthesisConfig, optional
        Engines, voices, rates, pitches, limits and the sentences to exclude;
        default ``SynthesisConfig()``.
    jobs : int
        Clips synthesised at once (engine processes running side by side).
        The clips and the manifest are the same for any number.

    Returns
    -------
    SynthesisResult
        The manifest path, its utterances (extra keys ``id``, ``speaker``
        (``engine/voice``), ``engine``, ``voice``, ``rate``, ``pitch``,
        ``source="synthetic"``) and the counts of what was made, reused and
        left out.

    Raises
    ------
    SynthesisError
        If the text file cannot be read, an engine is not installed or has no
        such voice, or an engine fails on a sentence.

    Examples
    --------
    >>> exclude = read_exclude_sentences(["dev.jsonl", "test.jsonl"])  # doctest: +SKIP
    >>> config = SynthesisConfig(engines=("espeak-ng",), variants=2, exclude=exclude)  # doctest: +SKIP
    >>> synthesize_corpus("sentences.txt", "synthetic", config=config).synthesised  # doctest: +SKIP
    3842
    """
    config = config or SynthesisConfig()
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    sentences, counts = _sentences(Path(text_file), config)
    for engine in config.engines:
        _check_engine(engine, config.voices[engine])
    clips = Path(output_dir) / CLIP_FOLDER
    clips.mkdir(parents=True, exist_ok=True)
    utterances, made = _speak(sentences, config, clips, jobs=jobs)
    manifest = Path(output_dir) / MANIFEST_NAME
    write_manifest(utterances, manifest)
    return SynthesisResult(manifest=manifest, utterances=tuple(utterances), synthesised=made,
                           reused=len(utterances) - made, **counts)


def read_exclude_sentences(manifests: Iterable[str | PathLike]) -> frozenset[str]:
    """The normalised texts of one or more manifests, to pass as ``SynthesisConfig.exclude``.

    Audio files are not checked; bad lines are skipped with a warning.

    Raises
    ------
    ManifestError
        If a manifest cannot be read.
    """
    return frozenset(utterance.text for path in manifests for utterance in read_manifest(path, check_audio=False))


def _sentences(path: Path, config: SynthesisConfig) -> tuple[list[str], dict[str, int]]:
    """The usable normalised sentences of a text file, and how many lines were left out for which reason."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise SynthesisError(f"{path}: cannot read the sentences ({error})") from error
    sentences, seen, counts = [], set(), {"excluded": 0, "empty": 0, "duplicates": 0}
    for line in filter(str.strip, lines):
        text = normalize_text(line)
        reason = _left_out(text, seen, config.exclude)
        if reason:
            counts[reason] += 1
            continue
        seen.add(text)
        sentences.append(text)
        if len(sentences) == config.max_sentences:
            break
    return sentences, counts


def _left_out(text: str, seen: set[str], exclude: frozenset[str]) -> str | None:
    """Why a normalised sentence is not synthesised (a key of the counts), or None."""
    if not text:
        return "empty"
    if text in exclude:
        return "excluded"
    return "duplicates" if text in seen else None


def _speak(sentences: list[str], config: SynthesisConfig, clips: Path, *,
           jobs: int) -> tuple[list[Utterance], int]:
    """The utterances of every sentence's renderings up to ``max_hours``, and how many clips were made.

    ``jobs`` threads each run one engine process at a time; results are taken
    in sentence order, so the clips kept under ``max_hours`` do not depend on
    ``jobs`` (the few made past the limit stay on disk for a longer rerun).
    """
    utterances, made, seconds = [], 0, 0.0
    limit = math.inf if config.max_hours is None else config.max_hours * SECONDS_PER_HOUR
    work = ((sentence, rendering) for sentence in sentences for rendering in _choose(sentence, config))
    with ThreadPoolExecutor(jobs) as pool:
        while seconds < limit:
            window = [pool.submit(_clip, sentence, rendering, clips)
                      for sentence, rendering in itertools.islice(work, SYNTHESIS_WINDOW * jobs)]
            if not window:
                break
            for future in window:
                if seconds >= limit:
                    break
                utterance, new = future.result()
                utterances.append(utterance)
                seconds += utterance.duration
                made += new
                if new and made % 100 == 0:
                    logger.info("synthesised %d clips, %.2f h in all", made, seconds / SECONDS_PER_HOUR)
    return utterances, made


def _choose(sentence: str, config: SynthesisConfig) -> list[Rendering]:
    """``variants`` different renderings: engine by ``config.weights()``, then voice, rate and pitch uniformly.

    With the default weights every voice is equally likely, so an engine with
    few voices does not get as many clips as one with many. A voice in
    ``PITCHLESS_VOICES`` always gets pitch 1.0. The generator is seeded with
    the seed and the sentence, so the choice does not depend on the other
    sentences of the file.
    """
    rng = random.Random(f"{config.seed}\n{sentence}")
    weights = config.weights()
    chosen = []
    while len(chosen) < min(config.variants, _grid_size(config)):
        engine = rng.choices(config.engines, weights)[0]
        voice, rate, pitch = rng.choice(config.voices[engine]), rng.choice(config.rates), rng.choice(config.pitches)
        rendering = Rendering(engine, voice, rate, 1.0 if (engine, voice) in PITCHLESS_VOICES else pitch)
        if rendering not in chosen:
            chosen.append(rendering)
    return chosen


def _grid_size(config: SynthesisConfig) -> int:
    """How many different renderings the config allows."""
    pitches = [1 if (engine, voice) in PITCHLESS_VOICES else len(config.pitches)
               for engine in config.engines for voice in config.voices[engine]]
    return sum(pitches) * len(config.rates)


def _clip(sentence: str, rendering: Rendering, clips: Path) -> tuple[Utterance, bool]:
    """The utterance of one rendering, synthesising its clip unless a readable one is there; and whether it was made."""
    path = clips / rendering.clip_name(sentence)
    made = False
    try:
        duration = audio_duration(path)
    except AudioError:
        _synthesise(sentence, rendering, path)
        duration, made = audio_duration(path), True
    extra = {"id": path.stem, "speaker": f"{rendering.engine}/{rendering.voice}", "engine": rendering.engine,
             "voice": rendering.voice, "rate": rendering.rate, "pitch": rendering.pitch, "source": "synthetic"}
    return Utterance(audio_filepath=path.resolve(), duration=duration, text=sentence, extra=extra), made


def _synthesise(sentence: str, rendering: Rendering, path: Path) -> None:
    """Run the engine into a scratch file, then write it as 16 kHz mono 16-bit wav at ``path``, atomically."""
    raw = path.with_name(f".{path.stem}.raw-{os.getpid()}.wav")
    temporary = path.with_name(f".{path.stem}.tmp-{os.getpid()}.wav")
    try:
        _run(*_command(sentence, rendering, raw), sentence)
        try:
            samples = load_audio(raw, sr=SAMPLE_RATE)
        except AudioError as error:
            raise SynthesisError(f"{rendering.engine} gave no usable audio for {sentence!r} ({error})") from error
        soundfile.write(str(temporary), samples, SAMPLE_RATE, subtype="PCM_16")
        os.replace(temporary, path)
    finally:
        raw.unlink(missing_ok=True)
        temporary.unlink(missing_ok=True)


def _command(text: str, rendering: Rendering, output: Path) -> tuple[list[str], str | None]:
    """The engine's argument list that speaks ``text`` into the wav file ``output``, and its standard input."""
    if rendering.engine == "espeak-ng":
        pitch = ESPEAK_PITCH + ESPEAK_PITCH_PER_OCTAVE * math.log2(rendering.pitch)
        return ["espeak-ng", "-v", rendering.voice, "-s", str(round(ESPEAK_WPM * rendering.rate)),
                "-p", str(min(99, max(0, round(pitch)))), "-w", str(output), text], None
    if rendering.engine == "festival":
        setup = FESTIVAL_SETUP.format(voice=rendering.voice, rate=f"{rendering.rate:.4f}",
                                      pitch=f"{rendering.pitch:.4f}")
        return [PROGRAMS["festival"], "-eval", setup, "-o", str(output)], text
    return ["flite", "-voice", rendering.voice, "--setf", f"duration_stretch={1 / rendering.rate:.4f}",
            "--setf", f"f0_shift={rendering.pitch:.4f}", "-t", text, "-o", str(output)], None


def _run(command: list[str], stdin: str | None, sentence: str) -> None:
    """Run an engine, with ``stdin`` as its input if given, raising SynthesisError with its message when it fails."""
    try:
        result = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=ENGINE_TIMEOUT,
                                check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise SynthesisError(f"{command[0]} failed on {sentence!r}: {error}") from error
    if result.returncode != 0:
        message = result.stderr.strip() or result.stdout.strip() or f"exit status {result.returncode}"
        raise SynthesisError(f"{command[0]} failed on {sentence!r}: {message}")


def _check_engine(engine: str, voices: tuple[str, ...]) -> None:
    """Raise SynthesisError unless the engine is installed and has every voice asked for, naming what to install."""
    if shutil.which(PROGRAMS[engine]) is None:
        raise SynthesisError(f"{engine} is not installed (apt-get install {PACKAGES[engine]})")
    known = {"espeak-ng": _espeak_voices, "flite": _flite_voices, "festival": _festival_voices}[engine]()
    missing = [voice for voice in voices if not known(voice)]
    if missing:
        packages = sorted({VOICE_PACKAGES.get(engine, {}).get(voice) for voice in missing} - {None})
        hint = f" (apt-get install {' '.join(packages)})" if packages else ""
        raise SynthesisError(f"{engine} has no voice(s) {missing}{hint}")


def _espeak_voices():
    """A test for espeak-ng voice names: the base voice must load, the ``+variant`` must be listed."""
    variants = _output(["espeak-ng", "--voices=variant"])
    names = {line.split()[4].split("/")[-1].lower() for line in variants.splitlines()[1:] if len(line.split()) > 4}

    def known(voice: str) -> bool:
        base, _, variant = voice.partition("+")
        loads = subprocess.run(["espeak-ng", "-v", base, "-q", "a"], capture_output=True, check=False).returncode == 0
        return loads and (not variant or variant.lower() in names)

    return known


def _flite_voices():
    """A test for flite voice names: listed by ``flite -lv``, or a path to a ``.flitevox`` file."""
    names = set(_output(["flite", "-lv"]).partition(":")[2].split())
    return lambda voice: voice in names or Path(voice).is_file()


def _festival_voices():
    """A test for festival voice names: listed by ``(voice.list)``."""
    names = set(_output(["festival", "-b", "(print (voice.list))"]).replace("(", " ").replace(")", " ").split())
    return lambda voice: voice in names


def _positive(value) -> bool:
    """Whether a value is a finite number above zero."""
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def _unique(values: Iterable) -> tuple:
    """The values in their first order, repeats dropped."""
    return tuple(dict.fromkeys(values))


def _output(command: list[str]) -> str:
    """The standard output of a quick engine query, or SynthesisError."""
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError) as error:
        raise SynthesisError(f"{' '.join(command)} failed: {error}") from error
