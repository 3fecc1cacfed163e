"""Background work for the stewards' console."""

from celery import shared_task

from .elections import steward_terms_end_due


@shared_task
def end_steward_terms() -> int:
    """Beat, hourly: stewards whose term is over lose the role."""
    return steward_terms_end_due()
