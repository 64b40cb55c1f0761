#!/usr/bin/env bash
# The install benchmark's inputs (host/benches/install.rs): uv, the tool it compares with,
# and the wheels of python-3.11-ml's pins, which both jrt's build and `uv pip install` take
# from a local directory so the benchmark itself needs no network. Idempotent.
# Usage: host/benches/inputs.sh [WHEEL_DIR]   (default: target/bench-inputs/wheels)
set -euo pipefail
cd "$(dirname "$0")/../.."
wheels="${1:-target/bench-inputs/wheels}"

# Pinned, so two runs compare against the same uv.
uv_version=0.13.9
if ! command -v uv >/dev/null || [ "$(uv --version | cut -d' ' -f2)" != "$uv_version" ]; then
  python3 -m pip install --quiet --disable-pip-version-check "uv==$uv_version"
  command -v pyenv >/dev/null && pyenv rehash
fi

# The pins exactly as runtimes/python-3.11-ml/manifest.yaml lists them (hashes left off).
mapfile -t pins < <(sed -n '/^packages:/,/^[^ ]/p' runtimes/python-3.11-ml/manifest.yaml \
  | sed -n 's/^  - \([^ ]*\).*/\1/p')
mkdir -p "$wheels"
python3 -m pip download --quiet --disable-pip-version-check --only-binary=:all: --no-deps \
  --python-version 3.11 -d "$wheels" "${pins[@]}"
