#!/usr/bin/env bash
# Copy axe-core (the accessibility engine the browser tests inject) from npm into
# tests/browser/vendor/, with its licence and a note of its version. The version is
# pinned in frontend/package.json (devDependencies) and package-lock.json.
# To update: set the new exact version there, `npm install` in frontend/, run this
# script, run the accessibility tests, commit the four files together.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENDOR="$ROOT/tests/browser/vendor"
mkdir -p "$VENDOR"

cd "$ROOT/frontend"
npm ci --no-audit --no-fund
AXE=node_modules/axe-core
cp "$AXE/axe.min.js" "$VENDOR/axe.min.js"
cp "$AXE/LICENSE" "$VENDOR/axe.LICENSE.txt"
cp "$AXE/LICENSE-3RD-PARTY.txt" "$VENDOR/axe.LICENSE-3RD-PARTY.txt"
{
  echo "# tests/browser/vendor/axe.min.js is copied from npm by scripts/vendor_axe.sh"
  echo "axe-core $(node -p "require('./$AXE/package.json').version") ($(node -p "require('./$AXE/package.json').license"))"
} > "$VENDOR/axe.VERSION"
echo "Vendored axe-core into $VENDOR ($(wc -c < "$VENDOR/axe.min.js") bytes)"
cat "$VENDOR/axe.VERSION"
