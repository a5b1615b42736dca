"""Write a manifest of a Kaldi data folder.

Layout: ROOT/wav.scp ("utt path"; piped commands such as "sox ... |" are
reported and skipped), ROOT/text ("utt words..."), optional ROOT/utt2spk.
A segments file is not supported.

Example:
  python data_prep/kaldi.py egs/mycorpus/s5/data/train --audio-root egs/mycorpus/s5 --output manifests/train.jsonl
"""

from __future__ import annotations

import sys

from _cli import corpus_parser, prepare  # first: puts the checkout on sys.path

from asr.corpora import read_kaldi


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, read the corpus, write the manifest; return the exit code."""
    parser = corpus_parser(__doc__)
    parser.add_argument("--audio-root", help="the folder relative wav.scp paths start from (default: ROOT)")
    args = parser.parse_args(argv)
    return prepare(read_kaldi, args, audio_root=args.audio_root)


if __name__ == "__main__":
    sys.exit(main())
