"""What `make run` serves: the web server and, with Redis, the Celery worker and beat.

    python -m bazaar.run

Without REDIS_URL (the embedded market) there is one process: the web server also
runs the background work and the schedule (`bazaar.runner`). With REDIS_URL, a
Celery worker with beat runs beside it. Either process is started again if it dies,
with a line in the log, while the other keeps serving (`bazaar.supervise`).
"""

import os
import sys

from bazaar.supervise import Child, Supervisor, log_to_stderr


def children(environ: dict[str, str]) -> list[Child]:
    python = sys.executable
    web = Child(name="web", argv=[python, "-m", "bazaar.serve"])
    if not environ.get("REDIS_URL"):
        return [web]
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
    return [web, worker]


def main() -> int:
    log_to_stderr()
    return Supervisor(children(dict(os.environ))).run()


if __name__ == "__main__":
    sys.exit(main())
