"""Speaker and channel augmentation of training audio: pitch, rooms, noise and codecs.

The training speech comes from few speakers, recorded close to a good
microphone; the voices and channels met after training do not. Each
augmentation here draws a new speaker or channel condition per utterance, so
the acoustic model sees more variety than the corpus holds:

- :class:`PitchShift` moves the voice up or down by up to a few semitones at
  the same tempo (librosa's phase vocoder and soxr resampling): higher and
  lower voices than the corpus speakers'.
- :class:`Reverb` convolves the speech with the impulse response of a
  simulated shoebox room (pyroomacoustics' image-source model): far-field
  speech in rooms from dry offices to reverberant halls.
- :class:`Noise` adds white, pink, brown or babble noise (the sum of a few
  other training utterances) at a random signal-to-noise ratio.
- :class:`Channel` passes the speech through a telephone band (300-3400 Hz,
  8 kHz, optional mu-law) or a low-bitrate Opus or MP3 codec.

All take and return 16 kHz mono float32 samples of the same length, so the
transcript stays aligned with the audio; each call draws its own parameters
from the generator it is given (one draw per utterance), and the same
generator state gives the same output. They run before feature extraction,
in training only, in worker processes: the room and babble banks are built
once per process, from the augmentation's ``seed``, and cached.

Examples
--------
>>> rng = np.random.default_rng(0)
>>> noisy = Noise(kinds=("pink",)).apply(np.zeros(16_000, np.float32) + 0.1, rng)
>>> noisy.shape, noisy.dtype
((16000,), dtype('float32'))
"""

from __future__ import annotations

import dataclasses
import functools
import io
import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.fft
import scipy.signal
import soundfile
import soxr

from asr.audio import load_audio
from asr.constants import SAMPLE_RATE
from asr.errors import AudioError

logger = logging.getLogger(__name__)

MAX_SEMITONES = 12.0  # semitones: the widest pitch range accepted, an octave either way
PITCH_RESAMPLER = "soxr_hq"  # librosa's resampler for the pitch shift
PITCH_FFT_SIZE = 1024  # samples (64 ms): the phase vocoder's window; librosa's 2048 (128 ms at 16 kHz) smears
# onsets by up to 40 ms, this one by about 10 ms

SPEED_OF_SOUND = 343.0  # m/s, as pyroomacoustics assumes
SABINE_CONSTANT = 24 * math.log(10) / SPEED_OF_SOUND  # s/m: RT60 = SABINE_CONSTANT * volume / (surface * absorption)
RT60_MARGIN = 1.001  # a room's shortest RT60 is raised by this factor so the absorption stays below 1
RIR_HIGHPASS_HZ = 10.0  # Hz: the image-source RIR's large DC gain is removed by a causal high-pass here
RIR_HIGHPASS_ORDER = 2  # Butterworth order, as pyroomacoustics' own filter (zero-phase: leaks before the direct path)
MAX_PLACEMENT_TRIES = 1000  # source and microphone positions drawn before a room is given up as too small

NOISE_KINDS = ("white", "pink", "brown", "babble")
NOISE_EXPONENTS = {"white": 0.0, "pink": 1.0, "brown": 2.0}  # beta: noise power falls as 1/f**beta
COLOURED_NOISE_FLOOR_HZ = 20.0  # Hz: the 1/f shaping stops rising below this, so brown noise is not all rumble

CHANNEL_KINDS = ("telephone", "opus", "mp3")
TELEPHONE_FILTER_ORDER = 4  # Butterworth band-pass order, applied forward and backward
MU_LAW = 255  # mu of 8-bit mu-law (G.711)
# Codec kind -> libsndfile format, subtype and bitrate mode (None: libsndfile's default; Opus takes no mode).
CODECS = {"opus": ("OGG", "OPUS", None), "mp3": ("MP3", "MPEG_LAYER_III", "CONSTANT")}
COMPRESSION_DECIMALS = 2  # drawn compression levels are rounded to this many decimals: few codec delays to measure
MAX_CODEC_DELAY = 4096  # samples: the largest encoder + decoder delay searched for
DELAY_PROBE_SECONDS = 1.0  # s of seeded noise encoded to measure a codec's delay
DELAY_PROBE_HZ = 3000.0  # Hz: the probe is low-passed here, so even the lowest bitrate keeps it


class Augmentation:
    """Shared behaviour: checked input, one parameter draw per call, bounded float32 output of the same length.

    Subclasses are frozen dataclasses that define ``draw(rng)`` and ``_transform(samples, params)``.
    """

    def draw(self, rng: np.random.Generator) -> Any:
        """Draw the parameters of one application (a frozen ``...Params`` dataclass)."""
        raise NotImplementedError

    def apply(self, samples: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Augment one utterance with parameters drawn from ``rng``.

        Parameters
        ----------
        samples : np.ndarray [shape=(n,), dtype=floating]
            Mono audio at 16 kHz, n >= 1, all finite.
        rng : np.random.Generator
            The source of this call's random parameters; the same state gives the same output.

        Returns
        -------
        np.ndarray [shape=(n,), dtype=float32]
            The augmented audio, the same length as ``samples``, finite, peak at most 1.

        Raises
        ------
        ValueError
            If ``samples`` is not 1-D, empty, not floating point, or holds NaN or infinite values.
        TypeError
            If ``rng`` is not a ``numpy.random.Generator``.

        Examples
        --------
        >>> out = PitchShift().apply(np.zeros(8000, np.float32), np.random.default_rng(0))
        >>> out.shape
        (8000,)
        """
        samples = _check_samples(samples)
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"expected a numpy.random.Generator (np.random.default_rng(seed)), "
                            f"got {type(rng).__name__}")
        return _bounded(_fit(self._transform(samples, self.draw(rng)), samples.shape[0]))

    def apply_with(self, samples: np.ndarray, params: Any) -> np.ndarray:
        """Augment one utterance with given parameters, as from :meth:`draw`; otherwise as :meth:`apply`."""
        samples = _check_samples(samples)
        return _bounded(_fit(self._transform(samples, params), samples.shape[0]))

    def _transform(self, samples: np.ndarray, params: Any) -> np.ndarray:
        """The augmentation proper, on checked float32 samples."""
        raise NotImplementedError


# Pitch ------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PitchShiftParams:
    """One draw of :class:`PitchShift`."""

    semitones: float  # semitones up (positive) or down (negative)


@dataclass(frozen=True)
class PitchShift(Augmentation):
    """Shift the pitch by a uniform draw from [-max_semitones, max_semitones] semitones, keeping the tempo."""

    max_semitones: float = 3.0  # semitones: the largest shift either way, in [0, 12]

    def __post_init__(self):
        if not 0.0 <= self.max_semitones <= MAX_SEMITONES:
            raise ValueError(f"max_semitones must be in [0, {MAX_SEMITONES:g}], got {self.max_semitones!r}")

    def draw(self, rng: np.random.Generator) -> PitchShiftParams:
        """Draw the shift in semitones."""
        return PitchShiftParams(float(rng.uniform(-self.max_semitones, self.max_semitones)))

    def _transform(self, samples: np.ndarray, params: PitchShiftParams) -> np.ndarray:
        """Phase-vocoder time stretch and resampling back to the input length (librosa)."""
        if params.semitones == 0.0:
            return samples.copy()
        import librosa.effects

        return librosa.effects.pitch_shift(samples, sr=SAMPLE_RATE, n_steps=params.semitones,
                                           res_type=PITCH_RESAMPLER, n_fft=PITCH_FFT_SIZE)


# Reverberation ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReverbParams:
    """One draw of :class:`Reverb`."""

    room: int  # index of the room impulse response in the bank


@dataclass(frozen=True)
class Reverb(Augmentation):
    """Convolve with the impulse response of a random simulated room, its direct path at sample 0, RMS kept.

    A bank of ``rooms`` shoebox rooms is simulated once per process (pyroomacoustics' image-source
    model) from ``seed``: dimensions uniform between ``min_room`` and ``max_room``, RT60 uniform in
    [min_rt60, max_rt60] (raised to the shortest a room allows with fully absorbing walls), and a
    source and a microphone at least ``min_distance`` from the walls and from each other.
    """

    rooms: int = 64  # rooms in the bank
    min_room: tuple[float, float, float] = (3.0, 3.0, 2.5)  # m: smallest length, width and height
    max_room: tuple[float, float, float] = (10.0, 8.0, 4.0)  # m: largest length, width and height
    min_rt60: float = 0.15  # s: shortest reverberation time (60 dB decay)
    max_rt60: float = 0.8  # s: longest reverberation time
    min_distance: float = 0.5  # m: from the source and the microphone to the walls and to each other
    max_order: int = 30  # reflections per path at most; lower builds faster but cuts long tails short
    rir_seconds: float = 1.0  # s of each impulse response kept after its direct path
    seed: int = 0  # seeds the rooms

    def __post_init__(self):
        object.__setattr__(self, "min_room", tuple(float(v) for v in self.min_room))
        object.__setattr__(self, "max_room", tuple(float(v) for v in self.max_room))
        _check_reverb(self)

    def draw(self, rng: np.random.Generator) -> ReverbParams:
        """Draw a room of the bank."""
        return ReverbParams(int(rng.integers(self.rooms)))

    def bank(self) -> tuple[tuple[np.ndarray, int], ...]:
        """The room impulse responses, built on first use in each process and cached.

        Returns
        -------
        tuple of (np.ndarray [shape=(m,), dtype=float32], int)
            Per room, its impulse response at 16 kHz and the index of its direct path (from the
            source-microphone distance; not always the peak, which can be a later cluster of
            reflections); ``rir_seconds`` are kept after the direct path.
        """
        return _rir_bank(self)

    def _transform(self, samples: np.ndarray, params: ReverbParams) -> np.ndarray:
        """Convolve, drop the samples before the direct path, restore the input's RMS."""
        rir, direct = self.bank()[params.room]
        wet = scipy.signal.fftconvolve(samples, rir)[direct:direct + samples.shape[0]]
        return _with_rms(wet, _rms(samples))


def _check_reverb(reverb: Reverb) -> None:
    """Raise ValueError for room settings that cannot be simulated."""
    low, high = np.array(reverb.min_room), np.array(reverb.max_room)
    if reverb.rooms < 1:
        raise ValueError(f"rooms must be at least 1, got {reverb.rooms}")
    if low.shape != (3,) or high.shape != (3,) or not (0 < low).all() or not (low <= high).all():
        raise ValueError(f"expected room sizes (length, width, height) in m with 0 < min_room <= max_room, "
                         f"got {reverb.min_room} and {reverb.max_room}")
    if reverb.min_distance < 0 or not (low > 2 * reverb.min_distance).all():
        raise ValueError(f"min_distance must be >= 0 and leave room inside min_room {reverb.min_room}, "
                         f"got {reverb.min_distance} m")
    if np.linalg.norm(low - 2 * reverb.min_distance) < reverb.min_distance:
        raise ValueError(f"min_room {reverb.min_room} is too small to keep source and microphone "
                         f"{reverb.min_distance} m from the walls and from each other")
    if not 0 < reverb.min_rt60 <= reverb.max_rt60:
        raise ValueError(f"expected 0 < min_rt60 <= max_rt60 in s, got {reverb.min_rt60} and {reverb.max_rt60}")
    if reverb.max_order < 0 or reverb.rir_seconds <= 0:
        raise ValueError(f"expected max_order >= 0 and rir_seconds > 0, got {reverb.max_order} and "
                         f"{reverb.rir_seconds}")


_RIR_HIGHPASS = scipy.signal.butter(RIR_HIGHPASS_ORDER, RIR_HIGHPASS_HZ, btype="highpass", fs=SAMPLE_RATE, output="sos")


@functools.lru_cache(maxsize=4)
def _rir_bank(reverb: Reverb) -> tuple[tuple[np.ndarray, int], ...]:
    """Simulate the bank of room impulse responses (once per process and setting)."""
    rng = np.random.default_rng(reverb.seed)
    return tuple(_simulate_room(reverb, rng) for _ in range(reverb.rooms))


def _simulate_room(reverb: Reverb, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """One random room's impulse response, cut ``rir_seconds`` after its direct path, and that path's index."""
    size = rng.uniform(reverb.min_room, reverb.max_room)
    rt60 = max(float(rng.uniform(reverb.min_rt60, reverb.max_rt60)), _shortest_rt60(size) * RT60_MARGIN)
    source, microphone = _placements(size, reverb.min_distance, rng)
    rir, direct = _image_source_rir(size, rt60, source, microphone, reverb.max_order)
    return np.asarray(rir[:direct + int(reverb.rir_seconds * SAMPLE_RATE)], dtype=np.float32), direct


def _image_source_rir(size: np.ndarray, rt60: float, source: np.ndarray, microphone: np.ndarray,
                      max_order: int) -> tuple[np.ndarray, int]:
    """pyroomacoustics' image-source RIR, high-passed causally, and the index of its direct path."""
    import pyroomacoustics as pra

    absorption, order = pra.inverse_sabine(rt60, size)
    room = pra.ShoeBox(size, fs=SAMPLE_RATE, materials=pra.Material(absorption), max_order=min(order, max_order))
    room.add_source(source)
    room.add_microphone(microphone)
    highpass = pra.constants.get("rir_hpf_enable")
    pra.constants.set("rir_hpf_enable", False)  # its zero-phase filter would put sound before the direct path
    try:
        room.compute_rir()
    finally:
        pra.constants.set("rir_hpf_enable", highpass)
    # pyroomacoustics delays every path by half its fractional-delay filter
    delay = pra.constants.get("frac_delay_length") // 2
    direct = round(float(np.linalg.norm(source - microphone)) / room.c * SAMPLE_RATE) + delay
    return scipy.signal.sosfilt(_RIR_HIGHPASS, room.rir[0][0]), int(direct)


def _shortest_rt60(size: np.ndarray) -> float:
    """Sabine's RT60 in s of a shoebox of ``size`` m whose walls absorb everything."""
    length, width, height = size
    return SABINE_CONSTANT * length * width * height / (2 * (length * width + length * height + width * height))


def _placements(size: np.ndarray, margin: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A source and a microphone position, each ``margin`` m from the walls and from each other."""
    for _ in range(MAX_PLACEMENT_TRIES):
        source, microphone = rng.uniform(margin, size - margin, size=(2, 3))
        if np.linalg.norm(source - microphone) >= margin:
            return source, microphone
    raise ValueError(f"could not place a source and a microphone {margin} m apart in a {size} m room")


# Noise ------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class NoiseParams:
    """One draw of :class:`Noise`."""

    kind: str  # one of NOISE_KINDS
    snr_db: float  # dB: signal power over noise power, over the whole utterance
    seed: int  # seeds the noise samples (and, for babble, the clip and where it is cut)


@dataclass(frozen=True)
class Noise(Augmentation):
    """Add noise of a random kind at a random signal-to-noise ratio, measured over the utterance.

    White, pink and brown noise are white Gaussian noise shaped to a power spectrum of 1/f**beta
    (beta 0, 1, 2; flat below 20 Hz). Babble is cut from a bank of ``babble_clips`` clips built once
    per process from ``seed``: each is 3-7 (``min_talkers``-``max_talkers``) of ``babble_files``,
    each scaled to the same RMS and tiled from a random start to the clip's length, summed.
    A file that cannot be loaded is left out with a logged warning. Silent input is returned as it is.
    """

    min_snr_db: float = 0.0  # dB: the noisiest mix
    max_snr_db: float = 20.0  # dB: the cleanest mix
    kinds: tuple[str, ...] = NOISE_KINDS  # noise kinds drawn from, with equal chances
    babble_files: tuple[str, ...] = ()  # paths of speech for babble (training audio); needed with "babble"
    babble_clips: int = 20  # babble clips in the bank
    min_babble_seconds: float = 10.0  # s: shortest babble clip
    max_babble_seconds: float = 20.0  # s: longest babble clip
    min_talkers: int = 3  # files summed in a babble clip, at least
    max_talkers: int = 7  # files summed in a babble clip, at most
    seed: int = 0  # seeds the babble bank

    def __post_init__(self):
        object.__setattr__(self, "kinds", tuple(self.kinds))
        object.__setattr__(self, "babble_files", tuple(str(path) for path in self.babble_files))
        _check_noise(self)

    def draw(self, rng: np.random.Generator) -> NoiseParams:
        """Draw the kind, the SNR and the noise's seed."""
        kind = self.kinds[int(rng.integers(len(self.kinds)))]
        return NoiseParams(kind, float(rng.uniform(self.min_snr_db, self.max_snr_db)), int(rng.integers(2**63)))

    def babble_bank(self) -> tuple[np.ndarray, ...]:
        """The babble clips, each float32 at 16 kHz and unit RMS, built on first use in each process and cached.

        Raises
        ------
        ValueError
            If none of ``babble_files`` can be loaded.
        """
        return _babble_bank(self.babble_files, self.babble_clips, (self.min_babble_seconds, self.max_babble_seconds),
                            (self.min_talkers, self.max_talkers), self.seed)

    def _noise(self, params: NoiseParams, length: int) -> np.ndarray:
        """The noise of one draw before scaling: shape (length,), float64."""
        rng = np.random.default_rng(params.seed)
        if params.kind == "babble":
            bank = self.babble_bank()
            clip = bank[int(rng.integers(len(bank)))]
            return np.take(clip, int(rng.integers(clip.shape[0])) + np.arange(length), mode="wrap").astype(np.float64)
        return _coloured_noise(length, NOISE_EXPONENTS[params.kind], rng)

    def _transform(self, samples: np.ndarray, params: NoiseParams) -> np.ndarray:
        """Add the noise scaled to the drawn SNR."""
        noise = self._noise(params, samples.shape[0])
        signal_power, noise_power = _power(samples), _power(noise)
        if signal_power == 0.0 or noise_power == 0.0:
            return samples.copy()
        return samples + noise * math.sqrt(signal_power / (noise_power * 10 ** (params.snr_db / 10)))


def _check_noise(noise: Noise) -> None:
    """Raise ValueError for unknown kinds, empty ranges, or babble without files."""
    unknown = [kind for kind in noise.kinds if kind not in NOISE_KINDS]
    if not noise.kinds or unknown:
        raise ValueError(f"kinds must be some of {NOISE_KINDS}, got {noise.kinds}")
    if not -math.inf < noise.min_snr_db <= noise.max_snr_db < math.inf:
        raise ValueError(f"expected finite min_snr_db <= max_snr_db in dB, got {noise.min_snr_db} and "
                         f"{noise.max_snr_db}")
    if "babble" in noise.kinds and not noise.babble_files:
        raise ValueError("babble noise needs speech to mix: pass babble_files (paths of training audio) "
                         "or leave 'babble' out of kinds")
    if noise.babble_clips < 1 or not 0 < noise.min_babble_seconds <= noise.max_babble_seconds:
        raise ValueError(f"expected babble_clips >= 1 and 0 < min_babble_seconds <= max_babble_seconds, got "
                         f"{noise.babble_clips}, {noise.min_babble_seconds} and {noise.max_babble_seconds}")
    if not 1 <= noise.min_talkers <= noise.max_talkers:
        raise ValueError(f"expected 1 <= min_talkers <= max_talkers, got {noise.min_talkers} and {noise.max_talkers}")


def _coloured_noise(length: int, beta: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise of shape (length,) whose power spectrum falls as 1/f**beta (flat below the floor)."""
    if beta == 0.0:
        return rng.standard_normal(length)
    size = scipy.fft.next_fast_len(length, real=True)  # shaped whole and cut: FFTs of prime lengths are slow
    frequencies = np.fft.rfftfreq(size, d=1.0 / SAMPLE_RATE)
    gain = np.maximum(frequencies, COLOURED_NOISE_FLOOR_HZ) ** (-beta / 2)
    gain[0] = 0.0  # no DC offset
    return scipy.fft.irfft(scipy.fft.rfft(rng.standard_normal(size)) * gain, n=size)[:length]


@functools.lru_cache(maxsize=2)
def _babble_bank(files: tuple[str, ...], clips: int, seconds: tuple[float, float], talkers: tuple[int, int],
                 seed: int) -> tuple[np.ndarray, ...]:
    """Build the babble clips (once per process and setting)."""
    rng, loaded = np.random.default_rng(seed), {}
    bank = [_babble_clip(files, seconds, talkers, rng, loaded) for _ in range(clips)]
    bank = tuple(clip for clip in bank if clip is not None)
    if not bank:
        raise ValueError(f"none of the {len(files)} babble files could be loaded as speech (see the warnings)")
    return bank


def _babble_clip(files: tuple[str, ...], seconds: tuple[float, float], talkers: tuple[int, int],
                 rng: np.random.Generator, loaded: dict) -> np.ndarray | None:
    """One clip: random files at unit RMS, each tiled from a random start, summed; None if none loads."""
    length = max(1, int(rng.uniform(*seconds) * SAMPLE_RATE))
    count = min(int(rng.integers(talkers[0], talkers[1] + 1)), len(files))
    voices = [_babble_voice(files[int(index)], loaded) for index in rng.choice(len(files), count, replace=False)]
    voices = [voice for voice in voices if voice is not None]
    if not voices:
        return None
    total = sum(np.resize(np.roll(voice, -int(rng.integers(voice.shape[0]))), length) for voice in voices)
    return _with_rms(total, 1.0)


def _babble_voice(path: str, loaded: dict) -> np.ndarray | None:
    """One file at unit RMS, loaded once per bank; None, with a warning, if it fails to load or is silent."""
    if path not in loaded:
        try:
            samples = load_audio(path, sr=SAMPLE_RATE)
            loaded[path] = _with_rms(samples, 1.0) if _rms(samples) > 0 else None
            if loaded[path] is None:
                logger.warning("%s: silent, left out of the babble", path)
        except (AudioError, OSError) as error:
            logger.warning("%s: left out of the babble (%s)", path, error)
            loaded[path] = None
    return loaded[path]


# Channel ----------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ChannelParams:
    """One draw of :class:`Channel`."""

    kind: str  # one of CHANNEL_KINDS
    compression: float | None = None  # libsndfile compression level in [0, 1] of a codec; None for telephone
    mu_law: bool = False  # telephone only: quantise to 8-bit mu-law at 8 kHz


@dataclass(frozen=True)
class Channel(Augmentation):
    """Pass the audio through a telephone band or a low-bitrate codec, aligned with the input.

    ``telephone`` band-passes to [low_hz, high_hz] (Butterworth, zero phase), resamples to
    ``telephone_rate`` and back, and with chance ``mu_law_probability`` quantises to 8-bit mu-law
    in between. ``opus`` and ``mp3`` encode and decode through libsndfile at a compression level
    drawn from their range (rounded to 0.01; 1 is the smallest file); the codec's delay, measured
    once per process and level on a noise probe, is removed. Approximate bitrates of speech at
    16 kHz: Opus 0.9 about 30 kb/s, 1.0 about 8 kb/s; MP3 (constant bitrate) 0.8 about 40 kb/s,
    0.95 about 16 kb/s.
    """

    kinds: tuple[str, ...] = CHANNEL_KINDS  # channel kinds drawn from, with equal chances
    low_hz: float = 300.0  # Hz: the telephone band's lower edge
    high_hz: float = 3400.0  # Hz: the telephone band's upper edge
    telephone_rate: int = 8_000  # Hz: the telephone's sample rate
    mu_law_probability: float = 0.5  # chance that telephone audio is also mu-law quantised
    min_opus_compression: float = 0.9  # libsndfile compression level of Opus, in [0, 1]
    max_opus_compression: float = 1.0
    min_mp3_compression: float = 0.8  # libsndfile compression level of MP3, in [0, 1)
    max_mp3_compression: float = 0.95

    def __post_init__(self):
        object.__setattr__(self, "kinds", tuple(self.kinds))
        _check_channel(self)

    def draw(self, rng: np.random.Generator) -> ChannelParams:
        """Draw the kind and its setting."""
        kind = self.kinds[int(rng.integers(len(self.kinds)))]
        if kind == "telephone":
            return ChannelParams(kind, mu_law=bool(rng.random() < self.mu_law_probability))
        low, high = self._compression_range(kind)
        return ChannelParams(kind, compression=round(float(rng.uniform(low, high)), COMPRESSION_DECIMALS))

    def _compression_range(self, kind: str) -> tuple[float, float]:
        """The compression levels drawn from for a codec."""
        return getattr(self, f"min_{kind}_compression"), getattr(self, f"max_{kind}_compression")

    def _transform(self, samples: np.ndarray, params: ChannelParams) -> np.ndarray:
        """The telephone band or the codec round trip."""
        if params.kind == "telephone":
            return _telephone(samples, self.low_hz, self.high_hz, self.telephone_rate, params.mu_law)
        delay = _codec_delay(params.kind, params.compression)
        return _fit(_codec(samples, params.kind, params.compression)[delay:], samples.shape[0])


def _check_channel(channel: Channel) -> None:
    """Raise ValueError for unknown kinds, a band beyond the telephone's Nyquist rate, or a codec that fails."""
    unknown = [kind for kind in channel.kinds if kind not in CHANNEL_KINDS]
    if not channel.kinds or unknown:
        raise ValueError(f"kinds must be some of {CHANNEL_KINDS}, got {channel.kinds}")
    if not 0 < channel.low_hz < channel.high_hz < min(channel.telephone_rate, SAMPLE_RATE) / 2:
        raise ValueError(f"expected 0 < low_hz < high_hz < telephone_rate / 2, got {channel.low_hz}, "
                         f"{channel.high_hz} and {channel.telephone_rate}")
    if not 0.0 <= channel.mu_law_probability <= 1.0:
        raise ValueError(f"mu_law_probability must be in [0, 1], got {channel.mu_law_probability}")
    for kind in set(channel.kinds) & set(CODECS):
        low, high = channel._compression_range(kind)
        if not 0.0 <= low <= high <= 1.0:
            raise ValueError(f"expected 0 <= min_{kind}_compression <= max_{kind}_compression <= 1, "
                             f"got {low} and {high}")
        _check_codec(kind, low)
        _check_codec(kind, high)


@functools.lru_cache(maxsize=None)
def _check_codec(kind: str, compression: float) -> None:
    """Raise ValueError unless this libsndfile encodes and decodes ``kind`` at ``compression``."""
    format, subtype, _ = CODECS[kind]
    where = f"libsndfile {soundfile.__libsndfile_version__}"
    if subtype not in soundfile.available_subtypes(format):
        raise ValueError(f"{where} has no {kind} codec ({format}/{subtype}); leave {kind!r} out of kinds")
    try:
        _codec(np.zeros(SAMPLE_RATE // 10, dtype=np.float32), kind, compression)
    except (soundfile.LibsndfileError, RuntimeError, ValueError, TypeError) as error:
        raise ValueError(f"{where} cannot encode {kind} at compression level {compression}: {error}") from error


def _codec(samples: np.ndarray, kind: str, compression: float) -> np.ndarray:
    """Encode into memory and decode again, not yet aligned: shape (m,), float32."""
    format, subtype, mode = CODECS[kind]
    encoded = io.BytesIO()
    soundfile.write(encoded, samples, SAMPLE_RATE, format=format, subtype=subtype,
                    compression_level=compression, bitrate_mode=mode)
    encoded.seek(0)
    return soundfile.read(encoded, dtype="float32")[0]


@functools.lru_cache(maxsize=None)
def _codec_delay(kind: str, compression: float) -> int:
    """Samples the codec delays its output by, measured by cross-correlation on a low-passed noise probe."""
    rng = np.random.default_rng(0)
    band = scipy.signal.butter(TELEPHONE_FILTER_ORDER, DELAY_PROBE_HZ, fs=SAMPLE_RATE, output="sos")
    probe = 0.1 * scipy.signal.sosfilt(band, rng.standard_normal(int(DELAY_PROBE_SECONDS * SAMPLE_RATE)))
    decoded = _codec(probe.astype(np.float32), kind, compression)
    correlation = scipy.signal.correlate(decoded, probe, mode="full", method="fft")
    lags = scipy.signal.correlation_lags(decoded.shape[0], probe.shape[0], mode="full")
    window = (lags >= 0) & (lags <= MAX_CODEC_DELAY)
    return int(lags[window][np.argmax(correlation[window])])


def _telephone(samples: np.ndarray, low_hz: float, high_hz: float, rate: int, mu_law: bool) -> np.ndarray:
    """Band-pass, down to ``rate`` and optionally through mu-law, back to 16 kHz."""
    band = scipy.signal.butter(TELEPHONE_FILTER_ORDER, [low_hz, high_hz], btype="bandpass", fs=SAMPLE_RATE,
                               output="sos")
    padlen = min(samples.shape[0] - 1, 3 * (2 * band.shape[0] + 1))  # scipy's default, shortened for short input
    narrow = soxr.resample(scipy.signal.sosfiltfilt(band, samples, padlen=padlen), SAMPLE_RATE, rate, quality="HQ")
    if mu_law:
        narrow = _mu_law(narrow)
    return soxr.resample(narrow, rate, SAMPLE_RATE, quality="HQ")


def _mu_law(samples: np.ndarray) -> np.ndarray:
    """Compress with mu-law, quantise to 8 bits and expand (G.711's distortion), clipping at +-1."""
    clipped = np.clip(samples, -1.0, 1.0)
    compressed = np.sign(clipped) * np.log1p(MU_LAW * np.abs(clipped)) / np.log1p(MU_LAW)
    quantised = np.round((compressed + 1) / 2 * MU_LAW) / MU_LAW * 2 - 1
    return np.sign(quantised) * np.expm1(np.abs(quantised) * np.log1p(MU_LAW)) / MU_LAW


# Configuration ----------------------------------------------------------------------------------------------------

AUGMENTATIONS = {"pitch": PitchShift, "reverb": Reverb, "noise": Noise, "channel": Channel}  # CLI name -> class


def augmentation_key(augmentation: Augmentation) -> dict:
    """The augmentation as a JSON-ready dict: its class name as ``kind`` and its fields.

    Examples
    --------
    >>> augmentation_key(PitchShift(max_semitones=2.0))
    {'kind': 'PitchShift', 'max_semitones': 2.0}
    """
    if type(augmentation) not in AUGMENTATIONS.values():
        raise TypeError(f"expected one of {[cls.__name__ for cls in AUGMENTATIONS.values()]}, "
                        f"got {type(augmentation).__name__}")
    return {"kind": type(augmentation).__name__, **dataclasses.asdict(augmentation)}


def augmentation_from_dict(key: dict) -> Augmentation:
    """Rebuild an augmentation from :func:`augmentation_key`'s dict (lists, as JSON gives them, become tuples).

    Raises
    ------
    ValueError
        If ``kind`` names no augmentation, a field is unknown, or a value is out of range.

    Examples
    --------
    >>> augmentation_from_dict({"kind": "Noise", "kinds": ["white"], "max_snr_db": 10.0})
    Noise(min_snr_db=0.0, max_snr_db=10.0, kinds=('white',), babble_files=(), ...)
    """
    classes = {cls.__name__: cls for cls in AUGMENTATIONS.values()}
    values = dict(key)
    kind = values.pop("kind", None)
    if kind not in classes:
        raise ValueError(f"expected 'kind' to be one of {sorted(classes)}, got {kind!r}")
    names = {field.name for field in dataclasses.fields(classes[kind])}
    if set(values) - names:
        raise ValueError(f"{kind} has no field(s) {sorted(set(values) - names)}; it has {sorted(names)}")
    return classes[kind](**{name: tuple(value) if isinstance(value, list) else value for name, value in values.items()})


# Shared helpers ---------------------------------------------------------------------------------------------------

def _check_samples(samples: np.ndarray) -> np.ndarray:
    """``samples`` as float32; ValueError, one message each, unless 1-D, non-empty, floating point and finite."""
    samples = np.asarray(samples)
    if samples.ndim != 1:
        raise ValueError(f"expected mono samples of shape (n,), got shape {samples.shape}")
    if samples.shape[0] == 0:
        raise ValueError("expected at least one sample, got an empty array")
    if samples.dtype.kind != "f":
        raise ValueError(f"expected floating-point samples (float32 at 16 kHz), got dtype {samples.dtype}")
    bad = np.flatnonzero(~np.isfinite(samples))
    if bad.size:
        raise ValueError(f"expected finite samples, got {bad.size} NaN or infinite, the first at index {bad[0]}")
    return samples.astype(np.float32, copy=False)


def _fit(samples: np.ndarray, length: int) -> np.ndarray:
    """Cut or zero-pad to ``length`` samples."""
    if samples.shape[0] >= length:
        return samples[:length]
    return np.pad(samples, (0, length - samples.shape[0]))


def _bounded(samples: np.ndarray) -> np.ndarray:
    """float32, scaled down to a peak of 1 if it exceeds 1."""
    peak = float(np.max(np.abs(samples)))
    if peak > 1.0:
        samples = samples / peak
    return np.ascontiguousarray(samples, dtype=np.float32)


def _power(samples: np.ndarray) -> float:
    """Mean square."""
    return float(np.mean(np.square(samples, dtype=np.float64)))


def _rms(samples: np.ndarray) -> float:
    """Root mean square."""
    return math.sqrt(_power(samples))


def _with_rms(samples: np.ndarray, rms: float) -> np.ndarray:
    """Scaled to ``rms`` (unchanged if silent), float32."""
    current = _rms(samples)
    scaled = samples * (rms / current) if current > 0 else samples
    return np.asarray(scaled, dtype=np.float32)
