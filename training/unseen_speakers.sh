#!/usr/bin/env bash
# The default model's acoustic model (issue 19): trained from scratch on every training manifest, with speed
# perturbation and VTLP, for voices the model it replaced had never heard. training/RESULTS.md has why each setting
# is there.
#
#   1. the cnn_bigru acoustic model, stride-3 front end and 3 x BiGRU(320) (5.06 M parameters, at the training speed
#      of the 3.4 M stride-2 model before it), 40 epochs; one epoch is 8.3 h of audio, 10-13 minutes on 2 cores
#      (7.5 h in all);
#   2. exported (ONNX) beside its model.keras, for fast transcription.
# training/default_model.sh runs this, then bundles the best epoch into asr/default_model with the LM and tunes
# alpha and beta at width 128.
#
# Usage: training/unseen_speakers.sh   (run it again after a stop: it resumes from the newest checkpoint)
# Reads ../shared beside the checkout, or $ASR_SHARED.
set -euo pipefail
cd "$(dirname "$0")/.."

shared="${ASR_SHARED:-../shared}"
run=training/cnn_bigru_v2

resume=()
[ -f "${run}/config.json" ] && resume=(--resume)
python3 -m asr train --train "${shared}"/corpus/train/*.jsonl --dev "${shared}"/corpus/dev/*.jsonl --output "${run}" \
  --model cnn_bigru --features logmel --option layers=3 --option units=320 --option stride=3 \
  --max-frames 12000 --speeds 0.9 1.0 1.1 --frequency-warp 0.85 1.15 \
  --source-share fsdd=0.25 picovoice_keywords=0.25 \
  --epochs 40 --learning-rate 1e-3 --warmup-epochs 1 --patience 0 --seed 0 \
  --keep-checkpoints 1 --progress epoch "${resume[@]}"
python3 -m asr export "${run}"
