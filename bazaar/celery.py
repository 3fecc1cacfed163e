"""The Celery app; tasks live in each Django app's tasks.py."""

import os

from celery import Celery
from celery import Task as CeleryTask
from celery.signals import task_prerun, worker_init

from bazaar.logs import bind_task

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bazaar.settings.local")


class Task(CeleryTask):
    """Celery's task, except that without a broker (`JOBS_BACKEND = "embedded"`) a
    `delay()` or `apply_async()` becomes a `bazaar.Job` row instead of a message that
    nothing would ever read."""

    def apply_async(self, args=None, kwargs=None, **options):
        from bazaar import jobs

        if not jobs.embedded():
            return super().apply_async(args, kwargs, **options)
        if args:
            raise TypeError(f"{self.name}: embedded jobs take keyword arguments only")
        jobs.job_enqueue(task=self.name, kwargs=kwargs or {}, countdown=options.get("countdown"))
        return None


app = Celery("bazaar", task_cls=Task)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


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
