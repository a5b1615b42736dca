#!/usr/bin/env bash
# Build KenLM's lmplz and build_binary from the kenlm source distribution on PyPI.
#
# Usage: scripts/build_kenlm.sh [--prefix DIR] [--build-dir DIR] [--jobs N] [--version V]
#
#   --prefix DIR     install the two programs into DIR/bin (default: ~/.local, so ~/.local/bin)
#   --build-dir DIR  where the sources are unpacked and compiled; kept, so a second run
#                    (or an interrupted one) reuses it (default: build/kenlm in the checkout)
#   --jobs N         parallel compile jobs (default: 2)
#   --version V      kenlm version on PyPI (default: 0.3.0, the version requirements.txt pins)
#
# Needs python3 with pip, cmake, a C++ compiler and, on Debian:
#   apt-get install cmake g++ libboost-program-options-dev libboost-system-dev \
#       libboost-thread-dev libboost-test-dev zlib1g-dev libbz2-dev liblzma-dev
#
# Idempotent: exits at once when DIR/bin (or PATH) already holds both programs.
# asr finds them in $ASR_KENLM_BIN, on PATH, or in ~/.local/bin (see asr/lm.py).
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
prefix="${HOME}/.local"
build_dir="${repo}/build/kenlm"
jobs=2
version=0.3.0
programs=(lmplz build_binary)
debian_packages=(libboost-program-options-dev libboost-system-dev libboost-thread-dev
                 libboost-test-dev zlib1g-dev libbz2-dev liblzma-dev)

die() { echo "build_kenlm.sh: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in -h|--help) ;; *) [ $# -ge 2 ] || die "$1 needs a value" ;; esac
  case "$1" in
    --prefix) prefix="$2"; shift 2 ;;
    --build-dir) build_dir="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --version) version="$2"; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) die "unknown option $1 (expected --prefix, --build-dir, --jobs or --version)" ;;
  esac
done
bindir="${prefix}/bin"

if [ -x "${bindir}/lmplz" ] && [ -x "${bindir}/build_binary" ]; then
  echo "KenLM programs already in ${bindir}; nothing to do"
  exit 0
fi
if command -v lmplz >/dev/null && command -v build_binary >/dev/null; then
  echo "KenLM programs already on PATH ($(command -v lmplz)); nothing to do"
  exit 0
fi

command -v cmake >/dev/null || die "cmake not found; install it (apt-get install cmake)"
if command -v dpkg-query >/dev/null; then
  missing=()
  for package in "${debian_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] || die "missing Debian packages; run: apt-get install ${missing[*]}"
fi

source_dir="${build_dir}/kenlm-${version}"
if [ ! -f "${source_dir}/CMakeLists.txt" ]; then
  mkdir -p "${build_dir}/dist"
  # --no-binary kenlm, not :all:, which would also compile kenlm's build dependency cmake from source.
  python3 -m pip download -q --no-deps --no-binary kenlm --no-build-isolation \
    "kenlm==${version}" -d "${build_dir}/dist"
  tar -xzf "${build_dir}/dist/kenlm-${version}.tar.gz" -C "${build_dir}"
fi

cmake -S "${source_dir}" -B "${build_dir}/cmake" -DCMAKE_BUILD_TYPE=Release -DCOMPILE_TESTS=OFF >/dev/null
make -C "${build_dir}/cmake" -j"${jobs}" "${programs[@]}"

mkdir -p "${bindir}"
for program in "${programs[@]}"; do
  install -m 0755 "${build_dir}/cmake/bin/${program}" "${bindir}/${program}"
done
echo "installed ${programs[*]} into ${bindir}"
case ":${PATH}:" in
  *":${bindir}:"*) ;;
  *) if [ "${bindir}" = "${HOME}/.local/bin" ]; then
       echo "note: ${bindir} is not on PATH, but asr looks there anyway"
     else
       echo "note: ${bindir} is not on PATH; set ASR_KENLM_BIN=${bindir} for asr to find them"
     fi ;;
esac
