"""deploy/Caddyfile as the tests run it: adapted with a test's own addresses, with no
admin endpoint and plain HTTP in front (Debian's Caddy 2.6 predates
`stream_close_delay`, which matters only at a reload: that line is left out)."""

import json
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def caddy_config(
    workdir: Path, *, site: str, web_upstreams: str, janus_upstream: str, internal_ca: Path
) -> str:
    """The path of a JSON configuration for `caddy run --config`."""
    lines = (ROOT / "deploy" / "Caddyfile").read_text().splitlines()
    caddyfile = workdir / "Caddyfile"
    caddyfile.write_text("\n".join(line for line in lines if "stream_close_delay" not in line))
    env = {
        **os.environ,
        "HOME": str(workdir),
        "SITE_ADDRESS": site,
        "WEB_UPSTREAMS": web_upstreams,
        "JANUS_UPSTREAM": janus_upstream,
        "INTERNAL_CA": str(internal_ca),
    }
    adapted = subprocess.run(
        ["caddy", "adapt", "--config", str(caddyfile), "--adapter", "caddyfile"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    config = json.loads(adapted.stdout)
    config["admin"] = {"disabled": True}
    for server in config["apps"]["http"]["servers"].values():
        server["automatic_https"] = {"disable": True}
    path = workdir / "caddy.json"
    path.write_text(json.dumps(config))
    return str(path)
