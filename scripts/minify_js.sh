#!/usr/bin/env bash
# Minify static/js/stall-room.js into static/js/stall-room.min.js (with a source map),
# which the stall page serves. Its first line carries the sha256 of the source it was
# built from: tests/stalls/test_minified_js.py fails when the two drift apart.
# Runnable from any directory. Needs Node.js (20) and npm (esbuild from frontend/).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SOURCE="$ROOT/static/js/stall-room.js"
SUM="$(sha256sum "$SOURCE" | cut -d' ' -f1)"

cd "$ROOT/frontend"
[ -x node_modules/.bin/esbuild ] || npm ci --no-audit --no-fund
npx esbuild "$SOURCE" --minify --target=es2020 --sourcemap \
  --outfile="$ROOT/static/js/stall-room.min.js" \
  --banner:js="/*! stall-room.js minified by scripts/minify_js.sh; source sha256 $SUM */"
echo "Built static/js/stall-room.min.js ($(wc -c < "$ROOT/static/js/stall-room.min.js") bytes from $(wc -c < "$SOURCE"))"
