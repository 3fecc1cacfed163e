from django import template

from notifications.selectors import unread_count_for_top_bar

register = template.Library()


@register.inclusion_tag("notifications/_bell.html", takes_context=True)
def notice_bell(context) -> dict:
    """The top bar's bell for a signed-in person: a link to their notifications with
    the unread count, kept current by notices.js over `/ws/notices/`. The count is
    the page's top bar's (discovery.context_processors) when it has one."""
    unread = context.get("top_bar_unread")
    if unread is None:
        unread = unread_count_for_top_bar(user=context["request"].user)
    return {"unread": unread}
