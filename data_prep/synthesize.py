"""Synthesise extra training speech from a text file (one sentence per line) with espeak-ng and flite.

Writes DIR/wavs/*.wav (16 kHz mono) and DIR/manifest.jsonl. Sentences found in
the --exclude-manifest files (the dev and test sets) are never spoken. A rerun
reuses the clips already in DIR.

Example:
  python data_prep/synthesize.py sentences.txt --output-dir synthetic --exclude-manifest dev.jsonl test.jsonl
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
    parser.add_argument("--engines", nargs="+", choices=sorted(PACKAGES), default=["espeak-ng", "flite"])
    parser.add_argument("--variants", type=int, default=1, help="renderings per sentence (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the choice of voice, rate and pitch")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    try:
        config = SynthesisConfig(engines=tuple(args.engines), max_sentences=args.max_sentences, seed=args.seed,
                                 variants=args.variants, exclude=read_exclude_sentences(args.exclude_manifest))
        result = synthesize_corpus(args.text, args.output_dir, config=config)
    except (AsrError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{result.manifest}: {len(result.utterances)} utterances, {result.duration / _cli.SECONDS_PER_HOUR:.2f} h "
          f"({result.synthesised} synthesised, {result.reused} reused); skipped {result.excluded} excluded, "
          f"{result.empty} empty, {result.duplicates} duplicate sentences")
    return 0


if __name__ == "__main__":
    sys.exit(main())
