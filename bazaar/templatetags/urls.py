"""`{% url %}` with its answers remembered, a builtin of every template.

Django's tag reverses on every render: about 20 µs each, and a stall page asks for 41
(three per item's cart button, the menu, the stage and the room). What a reversal
answers depends only on the view's name and arguments, the URLconf, the script
prefix and the namespace the page is in, so the answers for plain arguments (text
and numbers, as every one of ours is) are remembered per process under all of those;
anything else is reversed as Django does. The markup is the same.
"""

from functools import lru_cache

from django import template
from django.conf import settings
from django.template.defaulttags import URLNode
from django.template.defaulttags import url as django_url
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.html import conditional_escape

register = template.Library()

# Pages by different items ask for different URLs; enough for every item a process
# serves in a while, and a bound on memory (a URL is ~60 bytes).
REMEMBERED_URLS = 8192


@lru_cache(maxsize=REMEMBERED_URLS)
def _reversed(
    view_name: str,
    args: tuple,
    current_app: str | None,
    urlconf: str | None,
    root_urlconf: str,
    prefix: str,
) -> str:
    """`reverse`, remembered; `root_urlconf` and `prefix` are what it reads from the
    settings and the thread, given here so that a change of either is a new entry."""
    return reverse(view_name, args=args, current_app=current_app, urlconf=urlconf)


def _current_app(context) -> str | None:
    """The namespace the tag reverses in, as Django's tag finds it."""
    try:
        return context.request.current_app
    except AttributeError:
        try:
            return context.request.resolver_match.namespace
        except AttributeError:
            return None


def _plain(arg) -> bool:
    """Text or a whole number (not a bool: True and 1 are one key, "True" and "1" two URLs)."""
    return isinstance(arg, str) or type(arg) is int


class RememberedURLNode(URLNode):
    def render(self, context):
        args = tuple(arg.resolve(context) for arg in self.args)
        view_name = self.view_name.resolve(context)
        if self.kwargs or not isinstance(view_name, str) or not all(map(_plain, args)):
            return super().render(context)
        url = ""
        try:
            url = _reversed(
                view_name,
                args,
                _current_app(context),
                get_urlconf(),
                settings.ROOT_URLCONF,
                get_script_prefix(),
            )
        except NoReverseMatch:
            if self.asvar is None:
                raise
        if self.asvar:
            context[self.asvar] = url
            return ""
        return conditional_escape(url) if context.autoescape else url


@register.tag
def url(parser, token) -> RememberedURLNode:
    """Django's `{% url %}` (same syntax), remembering its answers."""
    node = django_url(parser, token)
    return RememberedURLNode(node.view_name, node.args, node.kwargs, node.asvar)
