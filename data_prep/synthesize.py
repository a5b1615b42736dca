"""Synthesise extra training speech from a text file (one sentence per line) with espeak-ng, flite and festival.

Writes DIR/wavs/*.wav (16 kHz mono) and DIR/manifest.jsonl. Sentences found in
the --exclude-manifest files (the dev and test sets) are never spoken. Every
voice is equally likely unless --engine-weights sets each engine's share. A
rerun reuses the clips already in DIR.

Example:
  python data_prep/synthesize.py sentences.txt --output-dir synthetic --exclude-manifest dev.jsonl test.jsonl \
      --max-hours 20 --engine-weights espeak-ng=2 flite=1 festival=1
"""

from __future__ import annotations

import argparse
import logging
import sys

import _cli  # noqa: F401  (first: puts the checkout on sys.path)

from asr.errors import AsrError
from asr.synthesis import PACKAGES, SynthesisConfig, read_exclude_sentences, synthesize_corpus


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, synthesise, print a summary; return the exit code."""
    summary, _, details = __doc__.partition("\n")
    parser = argparse.ArgumentParser(description=summary, epilog=details.strip(),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("text", metavar="TEXT", help="UTF-8 text, one sentence per line")
    parser.add_argument("--output-dir", metavar="DIR", required=True, help="where the clips and manifest go")
    parser.add_argument("--exclude-manifest", metavar="M", nargs="+", default=[], help="manifests of sentences to skip")
    parser.add_argument("--max-sentences", metavar="N", type=int, help="stop after N sentences (default: all)")
    parser.add_argument("--max-hours", metavar="H", type=float, help="stop once the clips reach H hours (default: all)")
    parser.add_argument("--engines", nargs="+", choices=list(PACKAGES), default=list(PACKAGES))
    parser.add_argument("--engine-weights", metavar="ENGINE=W", nargs="+", type=_weight,
                        help="each engine's share, e.g. espeak-ng=2 flite=1 festival=1 (default: equal per voice)")
    parser.add_argument("--variants", type=int, default=1, help="renderings per sentence (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the choice of voice, rate and pitch")
    parser.add_argument("--jobs", type=int, default=1, help="clips synthesised at once (default 1; the output is "
                                                             "the same for any number)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    try:
        weights = dict(args.engine_weights) if args.engine_weights else None
        config = SynthesisConfig(engines=tuple(args.engines), max_sentences=args.max_sentences, seed=args.seed,
                                 max_hours=args.max_hours, variants=args.variants, engine_weights=weights,
                                 exclude=read_exclude_sentences(args.exclude_manifest))
        result = synthesize_corpus(args.text, args.output_dir, config=config, jobs=args.jobs)
    except (AsrError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{result.manifest}: {len(result.utterances)} utterances, {result.duration / _cli.SECONDS_PER_HOUR:.2f} h "
          f"({result.synthesised} synthesised, {result.reused} reused); skipped {result.excluded} excluded, "
          f"{result.empty} empty, {result.duplicates} duplicate sentences")
    return 0


def _weight(text: str) -> tuple[str, float]:
    """An ``ENGINE=W`` argument as (engine, weight)."""
    engine, _, weight = text.partition("=")
    try:
        return engine, float(weight)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected ENGINE=WEIGHT such as flite=1.5, got {text!r}") from None


if __name__ == "__main__":
    sys.exit(main())
