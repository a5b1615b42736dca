#!/usr/bin/env bash
# The default model from scratch to asr/default_model, in one command:
#   1. the 4-gram KenLM language model (lm_corpus.txt + the training transcripts),
#   2. the cnn_bigru acoustic model (resumes where a stopped run left off),
#   3. the bundle: the mean weights of the last AVERAGE epochs (asr average), or the best single epoch if that
#      scores better on dev (by CER), with its feature statistics and the LM, copied into the package,
#   4. alpha and beta tuned on the dev manifests and stored in asr/default_model/decoding.json, with beam width 128.
#
# Usage: training/default_model.sh [EPOCHS [AVERAGE]]   (default 60 and 5; run it again after a stop to go on)
# Reads ../shared beside the checkout, or $ASR_SHARED. Needs KenLM's programs (scripts/build_kenlm.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

shared="${ASR_SHARED:-../shared}"
epochs="${1:-60}"
average="${2:-5}"
run=training/cnn_bigru_v1
averaged=runs/cnn_bigru_v1-average
lm=runs/lm
bundle=asr/default_model
dev=("${shared}"/corpus/dev/*.jsonl)

if [ ! -f "${lm}/lm.bin" ]; then
  asr lm build --text "${shared}/text/lm_corpus.txt" "${shared}"/corpus/train/*.jsonl \
    --order 4 --prune 0 0 1 --quantize 8 --output "${lm}"
fi

resume=()
[ -f "${run}/config.json" ] && resume=(--resume)
asr train --train "${shared}"/corpus/train/*.jsonl --dev "${dev[@]}" --output "${run}" \
  --features logmel --option layers=3 --max-frames 12000 --speeds 0.9 1.0 1.1 \
  --epochs "${epochs}" --patience 12 --progress epoch --keep-checkpoints "${average}" "${resume[@]}"

rm -rf "${averaged}"
asr average "${run}" --last "${average}" --output "${averaged}"
chosen=$(python3 -c 'import json, sys
cer = lambda folder: json.load(open(folder + "/best.json"))["dev_cer"]
print(min(sys.argv[1:], key=cer))' "${averaged}" "${run}")

rm -rf "${bundle}"
mkdir -p "${bundle}"
cp "${chosen}"/{model.keras,config.json,normalizer.json,alphabet.json,best.json} "${bundle}/"
asr lm tune --model "${bundle}" --lm "${lm}" --manifest "${dev[@]}" \
  --alphas 0.3 0.5 0.8 --betas 0.5 1 2 --beam-width 32 \
  --store-beam-width 128  # decoding at 128: 0.005-0.008 dev WER better than 64 (training/RESULTS.md)
