"""The ablation table: greedy dev WER / CER per dev manifest of each finished ablation, as Markdown.

    python training/ablations/table.py runs/ablations/*      (copies each history.json beside this file too)
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
MANIFESTS = ("librispeech_clips", "cmu_arctic_cathy", "speechocean762")  # the dev manifests, the unseen voices first


def main(folders: list[str]) -> int:
    header = ("| ablation | " + " | ".join(f"{name} WER / CER" for name in MANIFESTS)
              + " | pooled WER / CER | epoch seconds |")
    lines = [header, "|---|" + "---:|" * (len(MANIFESTS) + 2)]
    for folder in map(Path, folders):
        history_file = folder / "history.json"
        if not history_file.is_file():
            print(f"{folder}: no history.json, left out", file=sys.stderr)
            continue
        (HERE / folder.name).mkdir(exist_ok=True)
        shutil.copy(history_file, HERE / folder.name / "history.json")
        last = json.loads(history_file.read_text())[-1]
        cells = [f"{last[f'dev_wer_{name}']:.3f} / {last[f'dev_cer_{name}']:.3f}" for name in MANIFESTS]
        lines.append(f"| {folder.name} | " + " | ".join(cells)
                     + f" | {last['dev_wer']:.3f} / {last['dev_cer']:.3f} | {last['seconds']:.0f} |")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
