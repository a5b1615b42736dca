"""How good are a teacher's labels, and what does the agreement filter buy? WER against gold transcripts.

``asr label`` with two teachers marks each clip ``"agree": true`` when both
wrote the same normalised words. This benchmark scores such a label manifest
against manifests of the same audio with human transcripts: per gold
manifest, the first teacher's WER and CER on every clip it labelled, on the
clips the teachers agree on (what ``--agreed-only`` keeps) and on the rest.

    scripts/whisper_base.sh  # Whisper base into models/whisper-base
    asr label ../shared/corpus/dev/cmu_arctic_cathy ../shared/corpus/dev/speechocean762 \\
        --teacher whisper --second-teacher whisper:models/whisper-base --output runs/teacher_agreement/labels.jsonl
    python benchmarks/teacher_agreement.py --labels runs/teacher_agreement/labels.jsonl \\
        --gold ../shared/corpus/dev/cmu_arctic_cathy.jsonl ../shared/corpus/dev/speechocean762.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labels", required=True, help="manifest written by asr label with --second-teacher")
    parser.add_argument("--gold", nargs="+", required=True, help="manifests of the same audio with human text")
    parser.add_argument("--output", default=str(HERE / "teacher_agreement"), help="writes OUTPUT.md and OUTPUT.json")
    args = parser.parse_args(argv)

    from asr.manifest import read_manifest

    labels = {Path(u.extra["source"]).resolve(): {**u.extra, "text": u.text}
              for u in read_manifest(args.labels, check_audio=False) if u.extra["offset"] == 0.0}
    rows = [_score(Path(gold).stem, list(read_manifest(gold)), labels) for gold in args.gold]
    Path(args.output + ".json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    table = _markdown(rows, labels=args.labels, argv=sys.argv[1:] if argv is None else argv)
    Path(args.output + ".md").write_text(table, encoding="utf-8")
    print(table)
    return 0


def _score(name: str, utterances: list, labels: dict[Path, dict]) -> dict:
    """One gold manifest: the teacher's error rates on all its clips, the agreed ones and the others."""
    from asr.metrics import error_rates

    labelled = [(u, labels[u.audio_filepath.resolve()]) for u in utterances if u.audio_filepath.resolve() in labels]
    if any(label.get("agree") is None for _, label in labelled):
        raise SystemExit(f"{name}: some labels carry no 'agree' (label with --second-teacher)")
    row = {"manifest": name, "clips": len(utterances), "hours": sum(u.duration for u in utterances) / 3600,
           "teacher": labelled[0][1]["teacher"] if labelled else None,
           "second_teacher": labelled[0][1]["second_teacher"] if labelled else None,
           "unlabelled": len(utterances) - len(labelled)}
    for subset, keep in (("all", lambda agree: True), ("agreed", bool), ("disagreed", lambda agree: not agree)):
        pairs = [(u, label) for u, label in labelled if keep(label["agree"])]
        rates = error_rates([u.text for u, _ in pairs], [label["text"] for _, label in pairs]) if pairs else None
        row[subset] = {"clips": len(pairs), "hours": sum(u.duration for u, _ in pairs) / 3600,
                       "wer": rates.wer if rates else None, "cer": rates.cer if rates else None}
    return row


def _markdown(rows: list[dict], *, labels: str, argv: list[str]) -> str:
    lines = [f"Teacher labels against gold text: `python benchmarks/teacher_agreement.py {' '.join(argv)}`, "
             f"on `{labels}` as `asr label` wrote it (the commands are in the script's docstring).",
             "", "| manifest | teacher / second | clips (no words) | all: WER / CER | agreed: clips (h), WER / CER "
             "| disagreed: clips (h), WER / CER |", "|---|---|---:|---|---|---|"]
    for row in rows:
        cells = [row["manifest"], f"{row['teacher']} / {row['second_teacher']}",
                 f"{row['clips']} ({row['unlabelled']})", _rates(row["all"])]
        cells += [f"{row[subset]['clips']} ({row[subset]['hours']:.2f}), {_rates(row[subset])}"
                  for subset in ("agreed", "disagreed")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _rates(subset: dict) -> str:
    return "-" if subset["wer"] is None else f"{subset['wer']:.3f} / {subset['cer']:.3f}"


if __name__ == "__main__":
    sys.exit(main())
