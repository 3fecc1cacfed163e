#!/usr/bin/env bash
# Bundle the stall room's ES modules (static/js/stall-room/, entry main.js) into
# static/js/stall-room.min.js, one minified IIFE with a source map, which the stall page
# serves. Its first line carries the sha256 of the sources it was built from (see
# sources_sha256 below): tests/stalls/test_minified_js.py fails when the two drift apart.
#
#   scripts/build_stall_room.sh           rebuild the bundle and its map
#   scripts/build_stall_room.sh --check   build into a temporary directory and fail unless
#                                         the result is byte-identical to the committed files
#
# Runnable from any directory. Needs Node.js (20) and npm (esbuild from frontend/).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATIC="$ROOT/static/js"
SOURCES="$STATIC/stall-room"

# sha256 of the manifest "<sha256 of file>  <file name>\n" of every module, by file name
# (C collation): any edit, addition, removal or rename of a module changes it.
sources_sha256() {
  (cd "$SOURCES" && find . -maxdepth 1 -name '*.js' -printf '%f\n' | LC_ALL=C sort \
    | xargs sha256sum | sha256sum | cut -d' ' -f1)
}

build() {  # build <dir>: bundles <dir>/stall-room/main.js into <dir>/stall-room.min.js (+ .map)
  cd "$ROOT/frontend"
  [ -x node_modules/.bin/esbuild ] || npm ci --no-audit --no-fund
  # The banner's "use strict" makes the whole bundle strict, as each module is.
  npx esbuild "$1/stall-room/main.js" --bundle --format=iife --minify --target=es2020 \
    --sourcemap --outfile="$1/stall-room.min.js" --log-level=warning \
    --banner:js="/*! stall-room.min.js: static/js/stall-room/*.js bundled by scripts/build_stall_room.sh; sources sha256 $(sources_sha256) */
\"use strict\";"
}

if [ "${1:-}" = "--check" ]; then
  OUT="$(mktemp -d)"
  trap 'rm -rf "$OUT"' EXIT
  # The same layout as static/js, so that the map's relative source paths are the same.
  cp -r "$SOURCES" "$OUT/stall-room"
  build "$OUT"
  for file in stall-room.min.js stall-room.min.js.map; do
    cmp "$OUT/$file" "$STATIC/$file" || {
      echo "static/js/$file is not what the sources build: run scripts/build_stall_room.sh" >&2
      exit 1
    }
  done
  echo "static/js/stall-room.min.js and its map are what the sources build"
  exit 0
fi

build "$STATIC"
echo "Built static/js/stall-room.min.js ($(wc -c < "$STATIC/stall-room.min.js") bytes," \
  "$(gzip -9c "$STATIC/stall-room.min.js" | wc -c) gzipped) from $(cat "$SOURCES"/*.js | wc -c) bytes of modules"
