"""Write a manifest of VCTK (release 0.80 or 0.92).

Layout: ROOT/txt/<speaker>/<id>.txt, with the audio ROOT/wav48/<speaker>/<id>.wav
(0.80) or ROOT/wav48_silence_trimmed/<speaker>/<id>_mic1.flac (0.92).

Example:
  python data_prep/vctk.py VCTK-Corpus-0.92 --output manifests/vctk.jsonl
"""

from __future__ import annotations

import sys

from _cli import corpus_parser, prepare  # first: puts the checkout on sys.path

from asr.corpora import read_vctk


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, read the corpus, write the manifest; return the exit code."""
    parser = corpus_parser(__doc__)
    parser.add_argument("--mic", type=int, choices=(1, 2), default=1, help="the VCTK 0.92 microphone (default 1)")
    args = parser.parse_args(argv)
    return prepare(read_vctk, args, mic=args.mic)


if __name__ == "__main__":
    sys.exit(main())
