"""A production server refuses to start while `check --deploy` reports an error.

Django runs its system checks for management commands, never for an ASGI server
importing the application, so a production deployment missing its payment keys or
Redis would serve (and take play money) until someone ran `check --deploy`. Every
production entry point calls `refuse_if_undeployable()` first: the ASGI module
(daphne, uvicorn, gunicorn), `bazaar.serve` before it binds its socket, and the
Celery worker. Settings turn it on with `DEPLOY_CHECKS_AT_START` (production only).

    python -m bazaar.deploy     # the same refusal, as a command: exit 1 and the reasons
"""

import os
import sys

import django
from django.conf import settings
from django.core.checks import ERROR, run_checks


def deploy_errors() -> list[str]:
    """The unsilenced ERROR-level messages of the deploy checks, formatted for an operator."""
    messages = run_checks(include_deployment_checks=True)
    return [
        f"{message.id}: {message.msg}" + (f"\n    HINT: {message.hint}" if message.hint else "")
        for message in messages
        if message.level >= ERROR and not message.is_silenced()
    ]


def refuse_if_undeployable() -> None:
    """Exit with the reasons if this production deployment must not serve."""
    if not settings.DEPLOY_CHECKS_AT_START:
        return
    errors = deploy_errors()
    if errors:
        raise SystemExit(
            "Refusing to start: this production deployment is not configured "
            "(`python manage.py check --deploy` says the same):\n" + "\n".join(errors)
        )


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bazaar.settings.local")
    django.setup()
    refuse_if_undeployable()
    return 0


if __name__ == "__main__":
    sys.exit(main())
