#!/usr/bin/env bash
# Build static/vendor/livekit-client.bundle.js (window.LivekitClient: livekit-client's
# exports) from frontend/src/livekit-entry.js, and record the versions it was built from
# in static/vendor/livekit-client.bundle.VERSION and the bundled packages' licences in
# livekit-client.bundle.LICENSE.txt. Runnable from any directory. Needs Node.js and npm.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENDOR="$ROOT/static/vendor"
mkdir -p "$VENDOR"

META="$(mktemp)"
trap 'rm -f "$META"' EXIT

cd "$ROOT/frontend"
npm ci --no-audit --no-fund
npx esbuild src/livekit-entry.js --bundle --minify --format=iife --target=es2020 \
  --global-name=LivekitClient \
  --outfile=../static/vendor/livekit-client.bundle.js --legal-comments=eof \
  --banner:js='/*! livekit-client.bundle.js: livekit-client (Apache-2.0) and its dependencies. Licenses: livekit-client.bundle.LICENSE.txt */' \
  --metafile="$META"

{
  echo "# static/vendor/livekit-client.bundle.js was built by scripts/build_livekit.sh from frontend/src/livekit-entry.js"
  echo "livekit-client $(node -p "require('./node_modules/livekit-client/package.json').version")"
  echo "esbuild $(node -p "require('./node_modules/esbuild/package.json').version")"
} > "$VENDOR/livekit-client.bundle.VERSION"

node bundle-licenses.js "$META" static/vendor/livekit-client.bundle.js > "$VENDOR/livekit-client.bundle.LICENSE.txt"

echo "Built $VENDOR/livekit-client.bundle.js ($(wc -c < "$VENDOR/livekit-client.bundle.js") bytes)"
cat "$VENDOR/livekit-client.bundle.VERSION"
