"""The Celery app; tasks live in each Django app's tasks.py."""

import os

from celery import Celery
from celery import Task as CeleryTask
from celery.fixups.django import DjangoFixup, DjangoWorkerFixup
from celery.signals import task_prerun, worker_init
from django.db import close_old_connections

from bazaar.logs import bind_task

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bazaar.settings.local")


class Task(CeleryTask):
    """Celery's task, except that without a broker (`JOBS_BACKEND = "embedded"`) a
    `delay()` or `apply_async()` becomes a `bazaar.Job` row instead of a message that
    nothing would ever read; with one, its arguments are shown by `_shown`."""

    def apply_async(self, args=None, kwargs=None, **options):
        from bazaar import jobs

        if not jobs.embedded():
            options.setdefault("argsrepr", _shown(args or ()))
            options.setdefault("kwargsrepr", _shown(kwargs or {}))
            return super().apply_async(args, kwargs, **options)
        if args:
            raise TypeError(f"{self.name}: embedded jobs take keyword arguments only")
        jobs.job_enqueue(task=self.name, kwargs=kwargs or {}, countdown=options.get("countdown"))
        return None


# As long as Celery's own shown arguments (`argsrepr_maxsize`).
SHOWN_ARGUMENTS_MAX = 1024


def _shown(arguments) -> str:
    """A job's arguments as its message shows them (the worker's log): Python's repr.
    Celery's `saferepr` walks them item by item, guarding against recursive and
    endless values that jobs, queued with a row's ids and short texts, never carry;
    it was a sixth of an offer action's `apply_async` (issue 15, session offers12)."""
    return repr(arguments)[:SHOWN_ARGUMENTS_MAX]


class PoolKeepingWorkerFixup(DjangoWorkerFixup):
    """Celery's Django fixup, except around each task: a connection is closed as
    Django closes one after a request (if unusable, or past CONN_MAX_AGE: a pooled
    one goes back to the pool), where Celery closed every connection and, in a
    prefork child, the psycopg pool itself. So each task opened a new pool, its
    worker threads and two new PostgreSQL connections (a server process each), and
    lost the statements prepared on them: most of a notice job's CPU (issue 15,
    session offers9). A child still closes what it inherited from the parent when
    it starts (`on_worker_process_init`, unchanged)."""

    def on_task_prerun(self, sender, **kwargs) -> None:
        if not getattr(sender.request, "is_eager", False):
            close_old_connections()

    def on_task_postrun(self, sender, **kwargs) -> None:
        if not getattr(sender.request, "is_eager", False):
            close_old_connections()
            self.close_cache()


app = Celery("bazaar", task_cls=Task)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
for fixup in app._fixups:
    if isinstance(fixup, DjangoFixup):
        fixup.worker_fixup = PoolKeepingWorkerFixup(app)


@worker_init.connect
def refuse_if_undeployable(**kwargs) -> None:
    """A production worker refuses to start on a deploy error, as the web server does."""
    import django

    from bazaar import deploy

    django.setup()
    deploy.refuse_if_undeployable()


@task_prerun.connect
def name_the_task_in_its_logs(task_id=None, task=None, **kwargs) -> None:
    """Each line a task logs carries its id and name (bazaar.logs), as a request's
    lines carry the request's id."""
    bind_task(task_id, task.name)
