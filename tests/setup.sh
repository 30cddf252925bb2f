#!/usr/bin/env bash
# Installs what the tests need beyond cargo and node: the real-world corpus (npm, into
# target/corpus) and the engines and browser the end-to-end tests drive (Debian packages).
# Idempotent; packages already present are not installed again.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/../shared/corpus/setup.sh" "$root/target/corpus"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
missing=()
command -v jsc >/dev/null || missing+=(libjavascriptcoregtk-4.0-bin)   # the benchmark suite's engines
command -v chromium >/dev/null || missing+=(chromium)   # r3 record --browser
if [ ${#missing[@]} -gt 0 ]; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
