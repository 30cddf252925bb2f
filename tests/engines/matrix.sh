#!/usr/bin/env bash
# Runs replays of recorded programs on every engine present and prints app x engine pass/fail.
#
#   tests/engines/matrix.sh RECORDINGS [OUT]
#
# RECORDINGS holds traces as `r3 record` writes them (`<module>-<n>.r3` next to `<module>.wasm`,
# in any subfolders, e.g. one per corpus app). Each trace is replayed into OUT (default: a
# temporary folder) and its merged replay.wasm runs on: wasmtime (`r3 run`), the default node,
# node 22 (npx), wasmi (`wasmi`, `cargo install wasmi_cli`) and JavaScriptCore (`jsc`, apt
# libjavascriptcoregtk-4.0-bin). Engines not installed are reported as missing, not failed.
# Exit status 0 iff at least MIN_ENGINES (default 4) engines ran every replay as recorded.
set -euo pipefail

recordings=${1:?usage: matrix.sh RECORDINGS [OUT]}
out=${2:-$(mktemp -d)}
mkdir -p "$out"
root=$(cd "$(dirname "$0")/../.." && pwd)
r3=${R3:-$root/target/release/r3}
run_mjs=$root/r3-replay/js/run.mjs
run_shell=$root/r3-replay/js/run-shell.js
min_engines=${MIN_ENGINES:-4}
[ -x "$r3" ] || { echo "build r3 first: cargo build --release -p r3_replay" >&2; exit 2; }

node22=$(npx -y node@22 -p process.execPath 2>/dev/null || true)
wasmi=$(command -v wasmi || ls ~/.cargo/bin/wasmi 2>/dev/null || true)
jsc=$(command -v jsc || true)
engines=(wasmtime node node22 wasmi jsc)

# Whether every segment of a merged replay is expected to return (engines that can only call
# `_start` then expect success, otherwise a trap).
all_return() { ! grep -aq '"expect":"\(trap\|throw\|abort\)"' "$1"; }

run_on() {
  local engine=$1 wasm=$2
  case $engine in
    wasmtime) "$r3" run "$wasm" >/dev/null 2>&1 ;;
    node) node "$run_mjs" "$wasm" >/dev/null 2>&1 ;;
    node22) [ -n "$node22" ] || return 2; "$node22" "$run_mjs" "$wasm" >/dev/null 2>&1 ;;
    wasmi)
      [ -n "$wasmi" ] || return 2
      if all_return "$wasm"; then "$wasmi" "$wasm" >/dev/null 2>&1; else ! "$wasmi" "$wasm" >/dev/null 2>&1; fi ;;
    jsc) [ -n "$jsc" ] || return 2; "$jsc" "$run_shell" -- "$wasm" 2>&1 | tail -1 | grep -q "r3: replay ok" ;;
  esac
}

declare -A passed failed
for engine in "${engines[@]}"; do passed[$engine]=0; failed[$engine]=0; done
printf "%-48s" app; printf " %-9s" "${engines[@]}"; echo
mapfile -t traces < <(find "$recordings" -name '*.r3' | sort)
for trace in "${traces[@]}"; do
  app=$(basename "$(dirname "$trace")")/$(basename "$trace" .r3)
  dir=$out/$app
  mkdir -p "$(dirname "$dir")"
  printf "%-48s" "$app"
  if ! "$r3" replay "$trace" -o "$dir" >/dev/null 2>"$dir.replay.log" || [ ! -f "$dir/replay.wasm" ]; then
    echo " no replay.wasm: $(tail -1 "$dir.replay.log")"
    for engine in "${engines[@]}"; do failed[$engine]=$((failed[$engine] + 1)); done
    continue
  fi
  for engine in "${engines[@]}"; do
    status=0; run_on "$engine" "$dir/replay.wasm" || status=$?
    case $status in
      0) printf " %-9s" pass; passed[$engine]=$((passed[$engine] + 1)) ;;
      2) printf " %-9s" missing; failed[$engine]=$((failed[$engine] + 1)) ;;
      *) printf " %-9s" FAIL; failed[$engine]=$((failed[$engine] + 1)) ;;
    esac
  done
  echo
done
complete=0
printf "%-48s" "passed of ${#traces[@]}"
for engine in "${engines[@]}"; do
  printf " %-9s" "${passed[$engine]}"
  [ "${failed[$engine]}" -eq 0 ] && complete=$((complete + 1))
done
echo
echo "$complete engines ran every replay as recorded"
[ "$complete" -ge "$min_engines" ]
