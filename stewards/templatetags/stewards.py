from django import template

from governance.selectors import user_is_steward

from ..queue import SOURCES, queue_counts

register = template.Library()


@register.inclusion_tag("stewards/_console.html", takes_context=True)
def steward_console(context) -> dict:
    """The admin index's box: the queue's counts by kind and the console's pages."""
    user = context["request"].user
    if not user_is_steward(user=user):
        return {"show": False}
    counts = queue_counts()
    return {
        "show": True,
        "counts": [(name, SOURCES[name].label, counts[name]) for name in SOURCES],
        "total": sum(counts.values()),
    }
