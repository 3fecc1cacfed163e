#!/usr/bin/env bash
# Build static/vendor/yjs.bundle.js (window.BazaarY: Y.js + y-protocols/sync + lib0
# encoding/decoding + two sync helpers) from frontend/src/yjs-entry.js, and record
# the versions it was built from in static/vendor/yjs.bundle.VERSION.
# Runnable from any directory. Needs Node.js and npm (installs from package-lock.json).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENDOR="$ROOT/static/vendor"
mkdir -p "$VENDOR"

META="$(mktemp)"
trap 'rm -f "$META"' EXIT

cd "$ROOT/frontend"
npm ci --no-audit --no-fund
# --metafile only records which packages went into the bundle (for the license notice).
npx esbuild src/yjs-entry.js --bundle --minify --format=iife --target=es2020 \
  --outfile=../static/vendor/yjs.bundle.js --legal-comments=eof \
  --banner:js='/*! yjs.bundle.js: yjs, y-protocols, lib0 (MIT). Licenses: yjs.bundle.LICENSE.txt */' \
  --metafile="$META"

version_of() {
  node -p "require('./node_modules/$1/package.json').version"
}

{
  echo "# static/vendor/yjs.bundle.js was built by scripts/build_yjs.sh from frontend/src/yjs-entry.js"
  echo "yjs $(version_of yjs)"
  echo "y-protocols $(version_of y-protocols)"
  echo "lib0 $(version_of lib0)"
  echo "esbuild $(version_of esbuild)"
} > "$VENDOR/yjs.bundle.VERSION"

# License notice: the LICENSE file of every npm package that ended up in the bundle.
node bundle-licenses.js "$META" static/vendor/yjs.bundle.js > "$VENDOR/yjs.bundle.LICENSE.txt"

echo "Built $VENDOR/yjs.bundle.js ($(wc -c < "$VENDOR/yjs.bundle.js") bytes)"
cat "$VENDOR/yjs.bundle.VERSION"
