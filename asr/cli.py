"""The ``asr`` command line: parses arguments, calls the library, prints."""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
import sys
from pathlib import Path

from asr import __version__
from asr.constants import STREAM_CHUNK_MS
from asr.endpointing import DEFAULT_PAUSE_MS
from asr.errors import AsrError
from asr.verbosity import set_verbosity

BABBLE_FILES = 200  # training clips that asr train --augment noise mixes into babble

def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one sub-parser per command."""
    parser = argparse.ArgumentParser(prog="asr", description="CTC speech recognition: train, transcribe, evaluate.")
    parser.add_argument("--version", action="version", version=f"asr {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="log debugging detail, and the start-up lines of TensorFlow, CUDA and pyctcdecode")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_train(commands)
    _add_average(commands)
    _add_lm(commands)
    _add_evaluate(commands)
    _add_transcribe(commands)
    _add_benchmark(commands)
    _add_export(commands)
    _add_label(commands)
    _add_serve(commands)
    return parser


def _add_train(commands) -> None:
    """``asr train``: options of :class:`asr.training.TrainConfig`."""
    command = commands.add_parser("train", help="train an acoustic model with CTC",
                                  description="Train an acoustic model with CTC; resumable with --resume.")
    command.add_argument("--train", nargs="+", required=True, metavar="MANIFEST", help="training manifests")
    command.add_argument("--dev", nargs="*", default=[], metavar="MANIFEST", help="dev manifests, scored each epoch")
    command.add_argument("--output", required=True, help="model folder to write")
    command.add_argument("--model", help="model variant (default: cnn_bigru, or that of --init-from)")
    command.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                         help="a model hyper-parameter, e.g. --option units=320 --option layers=3")
    command.add_argument("--features", choices=["spectrogram", "mfcc", "logmel"],
                         help="default: spectrogram, or those of --init-from")
    command.add_argument("--init-from", metavar="DIR",
                         help="fine-tune: start from this model folder's weights and normaliser "
                              "('default': the model shipped with asr), with a fresh learning-rate schedule")
    command.add_argument("--epochs", type=int, default=30)
    command.add_argument("--learning-rate", type=float, default=1e-3, help="peak, after the warm-up (default 1e-3)")
    command.add_argument("--warmup-epochs", type=float, default=1.0,
                         help="linear warm-up to the peak, then cosine decay (default 1; a fraction is allowed)")
    command.add_argument("--max-frames", type=int, default=24_000, help="padded frames in one batch")
    command.add_argument("--speeds", type=float, nargs="+", default=[1.0], help="speed perturbation factors")
    command.add_argument("--noise-snr", type=float, nargs="*", default=[], help="noise perturbation SNRs in dB")
    command.add_argument("--augment", nargs="+", default=[], metavar="KIND",
                         choices=["pitch", "reverb", "noise", "channel"],
                         help="speaker and channel augmentation, one cached copy of the data each, drawn per "
                              "utterance: pitch (shift at the same tempo), reverb (simulated rooms), noise (coloured "
                              "and babble), channel (telephone band, Opus, MP3)")
    command.add_argument("--frequency-warp", nargs=2, type=float, metavar=("MIN", "MAX"),
                         help="vocal tract length perturbation: warp each utterance's frequency axis by a factor "
                              "drawn between MIN and MAX every epoch, e.g. 0.85 1.15")
    command.add_argument("--source-share", nargs="+", default=[], metavar="MANIFEST=SHARE", type=_parse_share,
                         help="draw only this share of a training manifest's utterances each epoch, e.g. fsdd=0.25 "
                              "(MANIFEST: the file name without .jsonl)")
    command.add_argument("--agreed-labels-only", action="store_true",
                         help="leave out machine transcripts (label 'whisper') that its two teachers disagree on")
    command.add_argument("--no-spec-augment", action="store_true", help="train without SpecAugment")
    command.add_argument("--patience", type=int, default=10, help="epochs without dev gain before stopping (0 never)")
    command.add_argument("--keep-checkpoints", type=int, default=2, metavar="N",
                         help="newest epoch checkpoints kept, e.g. for asr average (default: 2)")
    command.add_argument("--cache-dir", default="cache/features")
    command.add_argument("--strategy", default="default", choices=["default", "mirrored", "multiworker"])
    command.add_argument("--seed", type=int, default=0)
    command.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --output")
    command.add_argument("--progress", choices=["bar", "epoch"], default="bar",
                         help="a progress bar, or one line an epoch (for logs)")
    command.set_defaults(run=_train)


def _train(args: argparse.Namespace, extra: list[str]) -> int:
    """Build a TrainConfig from the arguments and train."""
    from asr.data import SpecAugment
    from asr.frequency_warp import FrequencyWarp
    from asr.training import TrainConfig, train

    init_from, architecture = _starting_model(args)
    config = TrainConfig(
        train_manifests=tuple(args.train), dev_manifests=tuple(args.dev), output=args.output, **architecture,
        init_from=init_from, epochs=args.epochs, learning_rate=args.learning_rate, warmup_epochs=args.warmup_epochs,
        max_frames=args.max_frames, speeds=tuple(args.speeds), noise_snr_db=tuple(args.noise_snr),
        augmentations=_augmentations(args.augment, args.train, seed=args.seed),
        frequency_warp=FrequencyWarp(*args.frequency_warp) if args.frequency_warp else None,
        source_shares=dict(args.source_share),
        agreed_labels_only=args.agreed_labels_only,
        spec_augment=None if args.no_spec_augment else SpecAugment(), patience=args.patience,
        keep_checkpoints=args.keep_checkpoints, cache_dir=args.cache_dir, strategy=args.strategy, seed=args.seed)
    train(config, resume=args.resume, verbose=1 if args.progress == "bar" else 2)
    return 0


def _augmentations(kinds: list[str], manifests: list[str], *, seed: int) -> tuple:
    """The augmentations named on the command line, in their default settings.

    Babble noise is made from ``BABBLE_FILES`` training clips drawn at random
    (seeded) from the training manifests.
    """
    from asr.augmentation import AUGMENTATIONS
    from asr.manifest import read_manifest

    augmentations = []
    for kind in kinds:
        if kind == "noise":
            paths = sorted(str(u.audio_filepath) for manifest in manifests for u in read_manifest(manifest))
            chosen = random.Random(seed).sample(paths, min(BABBLE_FILES, len(paths)))
            augmentations.append(AUGMENTATIONS[kind](babble_files=tuple(chosen)))
        else:
            augmentations.append(AUGMENTATIONS[kind]())
    return tuple(augmentations)


def _parse_share(text: str) -> tuple[str, float]:
    """``NAME=SHARE`` as (name, share)."""
    name, separator, share = text.partition("=")
    try:
        if not separator or not name:
            raise ValueError
        return name, float(share)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected MANIFEST=SHARE, e.g. fsdd=0.25, got {text!r}") from None


def _starting_model(args: argparse.Namespace) -> tuple[str | None, dict]:
    """The --init-from folder (or None) and the model, options and features to train.

    Options not given on the command line are those of the --init-from folder, or the defaults without one.
    """
    from asr.benchmark import DEFAULT_MODEL_NAME
    from asr.features import FeatureConfig
    from asr.model_folder import default_model_path
    from asr.training import CONFIG_FILE, TrainConfig

    options = dict(_parse_option(option) for option in args.option)
    if args.init_from is None:
        return None, {"model": args.model or "cnn_bigru", "model_options": options,
                      "features": FeatureConfig(kind=args.features or "spectrogram")}
    init_from = str(default_model_path()) if args.init_from == DEFAULT_MODEL_NAME else args.init_from
    start = TrainConfig.load(Path(init_from) / CONFIG_FILE)  # the weights are loaded (and checked) by train()
    return init_from, {"model": args.model or start.model, "model_options": {**start.model_options, **options},
                       "features": FeatureConfig(kind=args.features) if args.features else start.features}


def _add_average(commands) -> None:
    """``asr average``: the mean weights of several epochs of a run as a model folder."""
    command = commands.add_parser(
        "average", help="average the weights of several epochs of a training run",
        description="Write a model folder whose weights are the mean of several epoch checkpoints of a run "
                    "(kept with asr train --keep-checkpoints N), scored on the run's dev manifests.")
    command.add_argument("run_folder", metavar="RUN", help="the training run's folder")
    chosen = command.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--epochs", type=int, nargs="+", metavar="EPOCH", help="the epochs to average")
    chosen.add_argument("--last", type=int, metavar="N", help="the N newest checkpoints")
    command.add_argument("--checkpoints", metavar="DIR", help="where the checkpoints are (default: RUN/checkpoints)")
    command.add_argument("--output", required=True, metavar="DIR", help="model folder to write")
    command.add_argument("--no-dev", action="store_true", help="do not score the result on the dev manifests")
    command.set_defaults(run=_average)


def _average(args: argparse.Namespace, extra: list[str]) -> int:
    """Average, print the epochs and dev figures as JSON."""
    from asr.averaging import average_checkpoints, saved_epochs

    folder = Path(args.checkpoints) if args.checkpoints else Path(args.run_folder) / "checkpoints"
    if args.last is not None and args.last < 1:
        raise ValueError(f"--last must be at least 1, got {args.last}")
    epochs = args.epochs if args.epochs else saved_epochs(folder)[-args.last:]
    record = average_checkpoints(args.run_folder, epochs=epochs, output=args.output, checkpoints=folder,
                                 score_dev=not args.no_dev)
    print(json.dumps(record, indent=2))
    return 0


def _add_lm(commands) -> None:
    """``asr lm build`` (options of :class:`asr.lm.LmConfig`) and ``asr lm tune`` (not yet)."""
    command = commands.add_parser("lm", help="build and tune the n-gram language model",
                                  description="Build and tune the KenLM n-gram language model.")
    actions = command.add_subparsers(dest="action", metavar="ACTION")
    command.set_defaults(run=functools.partial(_print_help, command))
    build = actions.add_parser("build", help="build an ARPA and a binary KenLM model from text",
                               description="Normalise text files and build lm.arpa, lm.bin and unigrams.txt "
                                           "with KenLM's lmplz and build_binary (scripts/build_kenlm.sh).")
    build.add_argument("--text", nargs="+", required=True, metavar="FILE",
                       help="UTF-8 text, one sentence a line, or .jsonl manifests (their transcripts)")
    build.add_argument("--order", type=int, default=4, help="n-gram order (default: 4)")
    build.add_argument("--output", required=True, metavar="DIR", help="folder to write the model into")
    build.add_argument("--prune", type=int, nargs="+", default=[], metavar="COUNT",
                       help="drop n-grams seen at most COUNT times, one per order from unigrams, e.g. 0 0 1")
    build.add_argument("--vocab-size", type=int, metavar="N", help="keep only the N most frequent words")
    build.add_argument("--quantize", type=int, metavar="BITS", help="quantise the binary model (e.g. 8)")
    build.add_argument("--discount-fallback", action="store_true", help="allow small corpora (fixed discounts)")
    build.add_argument("--memory", default="1G", help="lmplz sorting memory (default: 1G)")
    build.add_argument("--overwrite", action="store_true", help="replace a model already in --output")
    build.set_defaults(run=_lm_build)
    tune = actions.add_parser("tune", help="tune alpha and beta on dev data and store them with the model",
                              description="Grid-search the LM weight (alpha) and word bonus (beta) on dev "
                                          "manifests; the best pair goes into the model folder's decoding.json.")
    tune.add_argument("--model", required=True, metavar="DIR", help="model folder")
    tune.add_argument("--manifest", nargs="+", required=True, metavar="DEV", help="dev manifests")
    tune.add_argument("--lm", metavar="DIR", help="an `asr lm build` folder to install into the model first")
    tune.add_argument("--alphas", type=float, nargs="+", help="LM weights to try")
    tune.add_argument("--betas", type=float, nargs="+", help="word bonuses to try")
    tune.add_argument("--beam-width", type=int, help="beam width while tuning (default: the model's)")
    tune.add_argument("--store-beam-width", type=int, metavar="WIDTH",
                      help="beam width to store in decoding.json for decoding (default: keep the model's); "
                           "tuning at a narrow beam and decoding at a wider one is common")
    tune.add_argument("--jobs", type=int, default=1, metavar="N",
                      help="grid points decoded at once in parallel processes (default: 1)")
    tune.set_defaults(run=_lm_tune)


def _lm_tune(args: argparse.Namespace, extra: list[str]) -> int:
    """Install an LM if given, tune alpha and beta, store them (and a beam width if given) in decoding.json."""
    from dataclasses import replace

    from asr import tuning
    from asr.model_folder import read_decoding, write_decoding
    from asr.transcriber import load_model

    if args.store_beam_width is not None and args.store_beam_width < 1:
        raise ValueError(f"--store-beam-width must be a positive number of hypotheses, got {args.store_beam_width}")
    if args.lm:
        tuning.install_language_model(args.model, args.lm)
    grid = {key: value for key, value in (("alphas", args.alphas), ("betas", args.betas)) if value}
    result = tuning.tune_lm_weights(load_model(args.model), args.manifest, beam_width=args.beam_width,
                                     jobs=args.jobs, **grid)
    settings = replace(read_decoding(args.model), alpha=result.alpha, beta=result.beta, tuned_on=args.manifest)
    if args.store_beam_width is not None:
        settings = replace(settings, beam_width=args.store_beam_width)
    write_decoding(args.model, settings)
    print(json.dumps({"alpha": result.alpha, "beta": result.beta, "wer": result.wer, "cer": result.cer}))
    return 0


def _lm_build(args: argparse.Namespace, extra: list[str]) -> int:
    """Build a KenLM model from text files and say what was written."""
    from asr.lm import LmConfig, build_language_model

    config = LmConfig(order=args.order, prune=tuple(args.prune), vocab_size=args.vocab_size,
                      quantize_bits=args.quantize, discount_fallback=args.discount_fallback, memory=args.memory)
    result = build_language_model(args.text, args.output, config=config, overwrite=args.overwrite)
    counts = ", ".join(f"{count} {order}-grams" for order, count in enumerate(result.ngram_counts, start=1))
    print(f"{result.words} words in {result.sentences} sentences: {counts}")
    for path in (result.binary, result.arpa, result.unigrams):
        print(f"wrote {path}")
    return 0


def _add_evaluate(commands) -> None:
    """``asr evaluate``: WER, CER and real-time factor of a model on manifests."""
    command = commands.add_parser("evaluate", help="score a model on manifests (WER, CER, real-time factor)",
                                  description="Transcribe every utterance of each manifest and score it.")
    command.add_argument("manifests", nargs="+", metavar="MANIFEST")
    command.add_argument("--model", help="model folder (default: the model shipped with asr)")
    command.add_argument("--decoder", choices=["greedy", "beam", "lm"],
                         help="default: lm when the model has a language model, else beam")
    command.add_argument("--beam-width", type=int, help="default: the model's tuned width")
    command.add_argument("--json", action="store_true", help="one JSON object per manifest, one a line")
    command.add_argument("--details", metavar="FILE", help="write per-utterance reference and hypothesis (JSON lines)")
    command.add_argument("--runtime", choices=["auto", "onnx", "keras"], default="auto",
                         help="run the acoustic model in ONNX Runtime from the folder's exported graph (auto: when it "
                              "has a current one) or in Keras")
    command.set_defaults(run=_evaluate)


def _evaluate(args: argparse.Namespace, extra: list[str]) -> int:
    """Score each manifest; print a table or JSON lines.

    A manifest that cannot be read is reported and the others are scored. Exit 1 when any manifest,
    line or utterance could not be used (the figures of the rest are still printed), else 0.
    """
    from asr.evaluation import default_decoder, evaluate_manifest
    from asr.files import write_text_atomically
    from asr.transcriber import load_model

    transcriber = load_model(args.model, runtime=args.runtime)
    decoder = args.decoder or default_decoder(transcriber)
    details, complete = [], True
    for manifest in args.manifests:
        try:
            evaluation, results = evaluate_manifest(transcriber, manifest, decoder=decoder,
                                                    beam_width=args.beam_width)
        except AsrError as error:
            print(f"error: {error}", file=sys.stderr, flush=True)
            complete = False
            continue
        details += [{"manifest": manifest, **vars(result)} for result in results]
        complete = complete and evaluation.complete
        print(json.dumps(evaluation.to_dict()) if args.json else _evaluation_line(evaluation), flush=True)
    if args.details:
        write_text_atomically(args.details, "".join(json.dumps(row) + "\n" for row in details))
    return 0 if complete else 1


def _evaluation_line(evaluation) -> str:
    """One human-readable line of figures, saying what was left out."""
    left_out = ", ".join(f"{count} {what}" for count, what in ((evaluation.skipped, "bad lines skipped"),
                                                                (evaluation.failed, "audio failed")) if count)
    return (f"{evaluation.manifest}: WER {evaluation.wer:.4f}  CER {evaluation.cer:.4f}  RTF {evaluation.rtf:.3f}  "
            f"({evaluation.utterances} utterances, {evaluation.audio_seconds / 60:.1f} min, {evaluation.decoder}"
            f"{'; ' + left_out if left_out else ''})")


def _add_transcribe(commands) -> None:
    """``asr transcribe``: audio files and folders to text, JSON or captions."""
    command = commands.add_parser("transcribe", help="transcribe audio files to text",
                                  description="Transcribe audio files (wav, flac, ogg, opus, mp3); folders are "
                                              "searched for audio files.")
    command.add_argument("paths", nargs="+", metavar="PATH", help="audio files or folders; with --stream one file, or "
                                                                  "- for raw 16-bit 16 kHz mono PCM or a WAV stream "
                                                                  "on standard input")
    command.add_argument("--model", help="model folder (default: the model shipped with asr; with --stream, its "
                                          "streaming model)")
    command.add_argument("--decoder", choices=["greedy", "beam", "lm"],
                         help="default: lm when the model has a language model, else beam")
    command.add_argument("--hotword", nargs="+", default=[], metavar="WORD", help="words to favour")
    command.add_argument("--format", choices=["txt", "json", "srt", "vtt"], default="txt")
    command.add_argument("--output-dir", metavar="DIR", help="write one file per input here instead of printing")
    command.add_argument("--runtime", choices=["auto", "onnx", "keras"], default="auto",
                         help="run the acoustic model in ONNX Runtime from the folder's exported graph (auto: when it "
                              "has a current one) or in Keras")
    live = command.add_argument_group("live transcription (a model trained with --model streaming_gru)")
    live.add_argument("--stream", action="store_true",
                      help="print partial and final lines while the audio arrives (--format txt or json)")
    live.add_argument("--realtime", action="store_true", help="with --stream FILE: play the file at real-time speed")
    live.add_argument("--chunk-ms", type=float, default=STREAM_CHUNK_MS, metavar="MS",
                      help=f"audio read per step (default {STREAM_CHUNK_MS:g})")
    live.add_argument("--pause-ms", type=float, default=DEFAULT_PAUSE_MS, metavar="MS",
                      help=f"non-speech that makes a segment final (default {DEFAULT_PAUSE_MS:g})")
    command.set_defaults(run=_transcribe)


def _transcribe(args: argparse.Namespace, extra: list[str]) -> int:
    """Transcribe every input; report the bad ones and go on; exit 1 if any failed.

    A transcript that cannot be written (disk full, no permission) stops the run: the files written
    before it are complete and kept, and the message says how many inputs were left.
    """
    from asr.evaluation import default_decoder
    from asr.output import find_audio, output_names, write_transcript
    from asr.transcriber import load_model

    if args.stream:
        return _transcribe_stream(args)
    if args.realtime:
        print("error: --realtime plays a file for --stream; add --stream", file=sys.stderr)
        return 2
    inputs, problems = find_audio(args.paths)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    transcriber = load_model(args.model, runtime=args.runtime) if inputs else None
    decoder = args.decoder or (default_decoder(transcriber) if transcriber else "greedy")
    failed = len(problems)
    for done, (audio, name) in enumerate(_progress(list(zip(inputs, output_names(inputs))))):
        try:
            transcript = transcriber.transcribe(audio.path, decoder=decoder, hotwords=args.hotword or None)
        except AsrError as error:
            print(f"error: {error}", file=sys.stderr)
            failed += 1
            continue
        except (OSError, ValueError) as error:  # what no check foresaw: report it, go on
            print(f"error: {audio.path}: {type(error).__name__}: {error}", file=sys.stderr)
            failed += 1
            continue
        try:
            write_transcript(transcript, args.format, output_dir=args.output_dir, name=name,
                             with_name=len(inputs) > 1)
        except OSError as error:
            print(f"error: {audio.path}: cannot write its transcript ({error}); stopped: this file and "
                  f"{len(inputs) - done - 1} more have no transcript", file=sys.stderr)
            return 1
    return 1 if failed else 0


def _transcribe_stream(args: argparse.Namespace) -> int:
    """``asr transcribe --stream``: one live input to partial and final lines; exit 1 if the input is bad."""
    from asr.live_audio import PcmReader, play_file
    from asr.stream_output import STREAM_FORMATS, StreamPrinter
    from asr.transcriber import load_model

    if len(args.paths) != 1 or args.format not in STREAM_FORMATS or args.output_dir:
        print(f"error: --stream takes one input (a file, or - for standard input), --format "
              f"{' or '.join(STREAM_FORMATS)} and no --output-dir", file=sys.stderr)
        return 2
    source = args.paths[0]
    if source == "-" and args.realtime:
        print("error: --realtime plays a file; standard input arrives at its own pace", file=sys.stderr)
        return 2
    try:
        recognizer = load_model(args.model, runtime=args.runtime, streaming=True).stream(
            decoder=args.decoder or "greedy", pause_ms=args.pause_ms, hotwords=args.hotword or None)
        reader = PcmReader(sys.stdin.buffer, chunk_ms=args.chunk_ms) if source == "-" else None
        chunks = reader if reader is not None else play_file(source, chunk_ms=args.chunk_ms, realtime=args.realtime)
    except (AsrError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    printer = StreamPrinter(sys.stdout, format=args.format, terminal=sys.stdout.isatty())
    interrupted = False
    try:
        for chunk in chunks:
            printer.show(recognizer.accept(chunk))
    except KeyboardInterrupt:
        interrupted = True
    except AsrError as error:  # a file that cannot be decoded part way: keep what was recognised
        print(f"error: {error}", file=sys.stderr)
        interrupted = None
    except BrokenPipeError:  # the reader of our output has gone (| head): nobody is left to print to
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115  (so the interpreter's final flush stays quiet)
        return 0
    try:
        printer.show(recognizer.finish())
        printer.close()
    except BrokenPipeError:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
    if reader is not None and reader.dropped_bytes:
        print(f"warning: {source}: the input ended mid-sample; its last {reader.dropped_bytes} byte(s) were dropped",
              file=sys.stderr)
    if reader is not None and reader.silenced_samples:
        print(f"warning: {source}: {reader.silenced_samples} sample(s) were NaN, infinite or beyond +-1e6 and were "
              "taken as silence", file=sys.stderr)
    return 130 if interrupted else 1 if interrupted is None else 0


def _add_benchmark(commands) -> None:
    """``asr benchmark``: every model x decoder x manifest into tables and charts."""
    from asr.baseline import BASELINES
    from asr.benchmark import DECODERS, DEFAULT_MODEL_NAME

    command = commands.add_parser(
        "benchmark", help="score models x decoders x manifests into tables and charts",
        description="Measure WER, CER and real-time factor of every model x decoder x manifest; write "
                    "results.json, results.csv, results.md and PNG charts into --output. Finished cells are "
                    "kept: a rerun into the same folder measures only what is missing.")
    command.add_argument("--model", nargs="+", default=[DEFAULT_MODEL_NAME], metavar="DIR",
                         help=f"model folders ({DEFAULT_MODEL_NAME!r}: the model shipped with asr; the default)")
    command.add_argument("--decoder", nargs="+", choices=DECODERS, default=list(DECODERS), help="default: all")
    command.add_argument("--manifest", nargs="+", required=True, metavar="MANIFEST")
    command.add_argument("--output", required=True, metavar="DIR", help="results folder")
    command.add_argument("--beam-width", type=int, help="beam and lm width (default: each model's own)")
    command.add_argument("--baseline", nargs="+", default=[], metavar="NAME",
                         help=f"other recognizers, one more row each: {', '.join(BASELINES)} (Whisper tiny.en) or "
                              "whisper:MODEL (a faster-whisper name or a CTranslate2 folder)")
    command.add_argument("--no-charts", action="store_true", help="skip the PNG charts")
    command.set_defaults(run=_benchmark)


def _benchmark(args: argparse.Namespace, extra: list[str]) -> int:
    """Run the benchmark, print its table; exit 1 if any cell failed."""
    from asr.benchmark import run_benchmark

    result = run_benchmark(args.output, models=args.model, decoders=args.decoder, manifests=args.manifest,
                           beam_width=args.beam_width, baselines=args.baseline, charts=not args.no_charts)
    with open(f"{args.output}/results.md", encoding="utf-8") as table:
        print(table.read(), end="")
    for error in result.errors:
        print(f"error: {error}", file=sys.stderr)
    return 0 if result.ok else 1


def _add_export(commands) -> None:
    """``asr export``: the acoustic model as ONNX (run without TensorFlow), a SavedModel, or streaming arrays."""
    command = commands.add_parser(
        "export", help="export the acoustic model for ONNX Runtime or TensorFlow Serving",
        description="Export a model folder's acoustic model. onnx writes acoustic.onnx and acoustic.json into the "
                    "folder, which transcribe and evaluate then run in ONNX Runtime without TensorFlow; savedmodel "
                    "writes a TensorFlow SavedModel (serving_default: features in, log_probs out); streaming writes a "
                    "streaming_gru model's weights as streaming.npz, which transcribe --stream runs without "
                    "TensorFlow.")
    command.add_argument("model", metavar="MODEL_DIR", help="model folder")
    command.add_argument("--format", choices=["onnx", "savedmodel", "streaming"], default="onnx")
    command.add_argument("--quantize", choices=["int8"], help="onnx only: int8 weights (dynamic quantisation)")
    command.add_argument("--output", help="where to write (default: in the model folder, where it is used)")
    command.set_defaults(run=_export)


def _export(args: argparse.Namespace, extra: list[str]) -> int:
    """Export, then say what was written, its size and its largest difference from Keras."""
    from asr.export import export_model

    report = export_model(args.model, format=args.format, quantize=args.quantize, output=args.output)
    print(f"{report.path}: {report.bytes / 2**20:.1f} MiB; largest log-probability difference from Keras "
          f"{report.max_abs_difference:.2e}")
    return 0


def _add_label(commands) -> None:
    """``asr label``: untranscribed audio to a training manifest, labelled by Whisper."""
    command = commands.add_parser(
        "label", help="label untranscribed audio with Whisper into a training manifest",
        description="Transcribe untranscribed audio with a teacher (Whisper through faster-whisper) into a "
                    "manifest for asr train. Files longer than --max-clip-seconds are cut at pauses into clips "
                    "written beside the manifest. A rerun labels only the files not yet done.")
    command.add_argument("paths", nargs="+", metavar="AUDIO_OR_FOLDER")
    command.add_argument("--output", required=True, metavar="MANIFEST", help="JSON-lines manifest to write")
    command.add_argument("--teacher", default="whisper", help="whisper (tiny.en) or whisper:MODEL (default: whisper)")
    command.add_argument("--second-teacher", metavar="TEACHER", help="a second teacher: lines say if the two agree")
    command.add_argument("--min-confidence", type=float, metavar="LOGP",
                         help="leave out clips whose mean token log-probability is lower (e.g. -0.5)")
    command.add_argument("--agreed-only", action="store_true", help="leave out clips the two teachers disagree on")
    command.add_argument("--max-clip-seconds", type=float, default=20.0, help="cut longer files (default: 20)")
    command.set_defaults(run=_label)


def _label(args: argparse.Namespace, extra: list[str]) -> int:
    """Label; report bad files and go on; exit 1 if any failed."""
    from asr.labelling import LabelConfig, label_audio

    config = LabelConfig(teacher=args.teacher, second_teacher=args.second_teacher,
                         min_confidence=args.min_confidence, agreed_only=args.agreed_only,
                         max_clip_seconds=args.max_clip_seconds)
    report = label_audio(args.paths, args.output, config=config, progress=_progress)
    for error in report.errors:
        print(f"error: {error}", file=sys.stderr)
    print(f"{args.output}: {report.clips_kept} clip(s) labelled from {report.files_done} file(s); "
          f"{report.files_skipped} file(s) done before; left out {report.clips_empty} without words, "
          f"{report.clips_unsure} below --min-confidence, {report.clips_disagreed} the teachers disagree on"
          + (f"; {len(report.errors)} file(s) failed" if report.errors else ""))
    return 0 if report.ok else 1


def _add_serve(commands) -> None:
    """``asr serve``: the HTTP service (OpenAI's transcription endpoint, a health check, a page)."""
    command = commands.add_parser(
        "serve", help="serve transcription over HTTP (OpenAI-compatible) with a web page",
        description="Serve POST /v1/audio/transcriptions (OpenAI's multipart API), GET /health and a page at / "
                    "to upload or record audio. One model, loaded once.")
    command.add_argument("--model", help="model folder (default: the model shipped with asr)")
    command.add_argument("--host", default="127.0.0.1")
    command.add_argument("--port", type=int, default=8000)
    command.add_argument("--max-upload-mb", type=float, default=25.0, help="larger uploads get 413 (default: 25)")
    command.add_argument("--max-audio-seconds", type=float, default=3600.0, help="longer audio gets 400")
    command.add_argument("--timeout", type=float, default=300.0, help="seconds before a request gets 504")
    command.add_argument("--max-queue", type=int, default=32, help="requests waiting or running; more get 503")
    command.set_defaults(run=_serve)


def _serve(args: argparse.Namespace, extra: list[str]) -> int:
    """Run the server until interrupted."""
    from asr.server import ServeConfig, serve

    serve(ServeConfig(model=args.model, host=args.host, port=args.port,
                      max_upload_bytes=int(args.max_upload_mb * 2**20), max_audio_seconds=args.max_audio_seconds,
                      request_timeout=args.timeout, max_queue=args.max_queue))
    return 0


def _progress(files: list):
    """The files, with a progress bar on stderr when it is a terminal and there are many."""
    if len(files) < 2 or not sys.stderr.isatty():
        return files
    return _ProgressBar(files)


class _ProgressBar:
    """A one-line progress count on stderr."""

    def __init__(self, items: list):
        self.items = items

    def __iter__(self):
        for done, item in enumerate(self.items):
            print(f"\r{done}/{len(self.items)} files", end="", file=sys.stderr, flush=True)
            yield item
        print(f"\r{len(self.items)}/{len(self.items)} files", file=sys.stderr, flush=True)


def _parse_option(text: str) -> tuple[str, object]:
    """``key=value`` with the value read as JSON where it parses (numbers, booleans), else a string."""
    key, separator, value = text.partition("=")
    if not separator or not key:
        raise SystemExit(f"asr train: --option expects KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def main(argv: list[str] | None = None) -> int:
    """Run the ``asr`` command; return the exit code (0 ok, 1 failure, 2 usage)."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    set_verbosity(args.verbose)
    if args.command is None:
        parser.print_help()
        return 2
    if extra:
        name = " ".join(filter(None, [args.command, getattr(args, "action", None)]))
        print(f"asr {name}: unrecognised arguments: {' '.join(extra)}", file=sys.stderr)
        return 2
    try:
        return args.run(args, extra)
    except AsrError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (FileExistsError, FileNotFoundError, ValueError) as error:
        print(f"asr {args.command}: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # disk full, no permission: what was written before stays whole (asr.files)
        print(f"error: {error}", file=sys.stderr)
        return 1


def _print_help(parser: argparse.ArgumentParser, args: argparse.Namespace, extra: list[str]) -> int:
    """A command given without its action: show its help."""
    parser.print_help()
    return 2
