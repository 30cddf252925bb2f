#!/usr/bin/env bash
# Runs replays of recorded programs on every engine present and prints app x engine pass/fail.
#
#   tests/engines/matrix.sh RECORDINGS [OUT]
#
# RECORDINGS holds traces as `r3 record` writes them (`<module>-<n>.r3` next to `<module>.wasm`),
# in one subfolder per app. `r3 bench` packages them into the suite OUT (default: a temporary
# folder), whose runner runs every merged replay.wasm on: node (the default one), node 22
# (npx), wasmi (`cargo install wasmi_cli`), JavaScriptCore (`jsc`, apt
# libjavascriptcoregtk-4.0-bin), the wasmtime CLI and `r3 run` (embedded wasmtime). Engines not
# installed are left out. Traces that cannot be packaged are listed first and fail the matrix.
# Exit status 0 iff every trace was packaged and at least MIN_ENGINES (default 4) engines ran
# every replay as recorded.
set -euo pipefail

recordings=${1:?usage: matrix.sh RECORDINGS [OUT]}
out=${2:-$(mktemp -d)}
root=$(cd "$(dirname "$0")/../.." && pwd)
export R3=${R3:-$root/target/release/r3}
[ -x "$R3" ] || { echo "build r3 first: cargo build --release -p r3_replay" >&2; exit 2; }

packaged=0
mapfile -t apps < <(find "$recordings" -name '*.r3' -printf '%h\n' | sort -u)
for app in "${apps[@]}"; do
  "$R3" bench -o "$out" --app "$(basename "$app")" "$app"/*.r3 2>&1 | grep 'error' || true
  packaged=$((packaged + $(find "$app" -name '*.r3' | wc -l)))
done
total=$(find "$out" -name metadata.json | wc -l)
nodes=()
node22=$(npx -y node@22 -p process.execPath 2>/dev/null || true)
[ -n "$node22" ] && nodes=(--node "node22=$node22")
status=0
node "$out/run.mjs" "${nodes[@]}" --min-engines "${MIN_ENGINES:-4}" || status=$?
echo "$total of $packaged traces packaged into $out"
[ "$status" -eq 0 ] && [ "$total" -eq "$packaged" ]
