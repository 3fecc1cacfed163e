#!/usr/bin/env bash
# Copy janus.js at the installed Janus server's version into static/vendor/ (the browser
# client must match the server: Debian's libjs-janus-gateway ships it beside `janus`).
# janus.js carries its own MIT licence header. Runnable from any directory.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SOURCE=/usr/share/javascript/janus-gateway/janus.js
[ -f "$SOURCE" ] || { echo "needs Debian's libjs-janus-gateway (apt-get install libjs-janus-gateway)" >&2; exit 1; }
cp "$SOURCE" "$ROOT/static/vendor/janus.js"
{
  echo "# static/vendor/janus.js was copied by scripts/vendor_janus.sh from $SOURCE"
  echo "libjs-janus-gateway $(dpkg-query -W -f='${Version}' libjs-janus-gateway)"
  echo "janus $(dpkg-query -W -f='${Version}' janus 2>/dev/null || echo 'not installed')"
} > "$ROOT/static/vendor/janus.VERSION"
cat "$ROOT/static/vendor/janus.VERSION"
