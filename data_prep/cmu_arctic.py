"""Write a manifest of one CMU ARCTIC voice.

Layout: ROOT/etc/txt.done.data with lines '( arctic_a0001 "Author of the
danger trail." )', and the audio ROOT/wav/<id>.wav.

Example:
  python data_prep/cmu_arctic.py cmu_us_slt_arctic --output manifests/arctic_slt.jsonl
"""

from __future__ import annotations

import sys

from _cli import corpus_parser, prepare  # first: puts the checkout on sys.path

from asr.corpora import read_cmu_arctic


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, read the corpus, write the manifest; return the exit code."""
    parser = corpus_parser(__doc__)
    parser.add_argument("--speaker", help="the speaker name (default: from the folder, cmu_us_slt_arctic gives slt)")
    args = parser.parse_args(argv)
    return prepare(read_cmu_arctic, args, speaker=args.speaker)


if __name__ == "__main__":
    sys.exit(main())
