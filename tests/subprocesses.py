"""A snippet of Python run by a fresh interpreter under the local settings, given only
a test's own server addresses: what a process of the market does with that
configuration, away from the suite's own settings."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def python_with_local_settings(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "bazaar.settings.local",
            "HOME": str(ROOT),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
