#!/usr/bin/env bash
# The "unseen speakers" ablations (issue 19): each a 1-epoch fine-tune of the model bundled before issue 19
# (training/cnn_bigru_v1_synth) on every training manifest, same seed and schedule, one change each; the table is
# in training/RESULTS.md.
#
# Usage: training/ablations/run.sh NAME...   (names below; a finished ablation is skipped, a stopped one resumes)
# Reads ../shared beside the checkout, or $ASR_SHARED. Writes runs/ablations/NAME. Runs the checkout's own asr
# (python3 -m asr), so a copy of the repo (git worktree) can run them while the checkout changes.
set -euo pipefail
cd "$(dirname "$0")/../.."

shared="${ASR_SHARED:-../shared}"
common=(--train "${shared}"/corpus/train/*.jsonl --dev "${shared}"/corpus/dev/*.jsonl --init-from training/cnn_bigru_v1_synth
        --epochs 1 --learning-rate 3e-4 --warmup-epochs 0.1 --max-frames 12000 --patience 0 --seed 0
        --source-share fsdd=0.25 picovoice_keywords=0.25 --progress epoch)

for name in "$@"; do
  case "${name}" in
    baseline) extra=() ;;
    agreed) extra=(--agreed-labels-only) ;;
    no_shares) extra=(--source-share fsdd=1 picovoice_keywords=1) ;;
    vtlp) extra=(--frequency-warp 0.85 1.15) ;;
    pitch) extra=(--augment pitch) ;;
    reverb) extra=(--augment reverb) ;;
    noise) extra=(--augment noise) ;;
    channel) extra=(--augment channel) ;;
    speed) extra=(--speeds 0.9 1.0 1.1) ;;
    utterance_mean) extra=(--option utterance_norm=mean) ;;  # no weights: the same start fits
    utterance_meanvar) extra=(--option utterance_norm=meanvar) ;;
    synthetic) extra=(--train "${shared}"/corpus/train/*.jsonl runs/synth20/out/synthetic.jsonl
                      --source-share fsdd=0.25 picovoice_keywords=0.25 synthetic=0.25) ;;
    synthetic_2h) extra=(--train "${shared}"/corpus/train/*.jsonl runs/synth5/out/synthetic.jsonl) ;;  # all of a 2 h set
    *) echo "unknown ablation ${name}" >&2; exit 2 ;;
  esac
  output="runs/ablations/${name}"
  resume=()
  [ -f "${output}/config.json" ] && resume=(--resume)
  python3 -m asr train "${common[@]}" "${extra[@]}" --output "${output}" "${resume[@]}"
done
