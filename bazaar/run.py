"""What `make run` serves: the web server, with Redis the Celery worker and beat, and
Janus (live video) when Debian's `janus` is installed and LiveKit is not configured.

    python -m bazaar.run

Without REDIS_URL (the embedded market) there is one process: the web server also
runs the background work and the schedule (`bazaar.runner`). With REDIS_URL, a
Celery worker with beat runs beside it. Either process is started again if it dies,
with a line in the log, while the other keeps serving (`bazaar.supervise`).
"""

import os
import shutil
import sys

from bazaar.supervise import Child, Supervisor, log_to_stderr


def _janus_wanted(environ: dict[str, str], janus: str | None) -> bool:
    """Video on the embedded backend: the binary is there and nothing else is chosen
    (the same rule as settings.SHOWS_MEDIA)."""
    if janus is None or environ.get("LIVEKIT_URL"):
        return False
    return environ.get("SHOWS_MEDIA", "janus") == "janus"


def children(environ: dict[str, str], janus: str | None = None) -> list[Child]:
    python = sys.executable
    web = Child(name="web", argv=[python, "-m", "bazaar.serve"])
    extra = []
    if _janus_wanted(environ, janus):
        # shows.media.janus_server writes Janus's configuration from settings, then runs it.
        extra.append(Child(name="janus", argv=[python, "-m", "shows.media.janus_server"]))
    if not environ.get("REDIS_URL"):
        return [web, *extra]
    worker = Child(
        name="worker",
        argv=[
            python,
            "-m",
            "celery",
            "-A",
            "bazaar",
            "worker",
            "--beat",
            "--loglevel",
            "WARNING",
            "--concurrency",
            "1",
            "--schedule",
            "var/celerybeat-schedule",
        ],
    )
    return [web, worker, *extra]


def main() -> int:
    log_to_stderr()
    janus = shutil.which(os.environ.get("JANUS_BINARY", "janus"))
    return Supervisor(children(dict(os.environ), janus)).run()


if __name__ == "__main__":
    sys.exit(main())
