"""The Save and Follow buttons and the Saved page. Thin: read the request, call a
service, render.

A button posts the state it wants (`on=1` or `on=0`), so pressing twice by accident
or retrying lands where the first press did. htmx swaps the button in place; the
Saved page's Remove and Undo swap the page's lists, with what changed said in a
status line that takes the focus. Without JavaScript each form posts and comes back
to the page it was on (`next`), with the same words as a message.
"""

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from bazaar.errors import DomainError, Invalid
from bazaar.next_url import local_next
from stalls.selectors import item_get, stall_get

from . import selectors, services
from .buttons import ToggleButton, item_button, stall_button

SAVED_LISTS = "saved-lists"  # the Saved page's element that its Remove and Undo swap


def _wanted(request: HttpRequest) -> bool:
    on = request.POST.get("on", "")
    if on not in ("0", "1"):
        raise Invalid("Say whether to turn it on (on=1) or off (on=0).")
    return on == "1"


def _back(request: HttpRequest, default: str) -> str:
    """Where the press came from (`next`, if a path on this site), else the thing's page."""
    return local_next(request) or default


def _press(
    request: HttpRequest,
    *,
    change: Callable[[bool], str],
    button: Callable[[], ToggleButton],
    home: str,
) -> HttpResponse:
    """Sign in first (and come back); then change, and answer as the page asked:
    the button, the Saved page's lists, or a redirect with a message."""
    back = _back(request, home)
    if not request.user.is_authenticated:
        return redirect_to_login(back)
    on_saved_page = request.htmx and request.htmx.target == SAVED_LISTS
    try:
        said = change(_wanted(request))
    except DomainError as error:
        if on_saved_page:
            return _saved_lists(request, said=error.message, status=error.status)
        if request.htmx:
            return _button(request, button(), back=back, error=error, status=error.status)
        messages.error(request, error.message)
        return redirect(back)
    if on_saved_page:
        now = button()
        return _saved_lists(request, said=said, undo=None if now.on else now)
    if request.htmx:
        return _button(request, button(), back=back)
    messages.success(request, said)
    return redirect(back)


def _button(request: HttpRequest, button: ToggleButton, *, back: str, error=None, status=200):
    context = {"button": button, "back": back, "error": error}
    return render(request, "watchlist/_toggle.html", context, status=status)


@require_POST
def item_watch(request: HttpRequest, public_id: str) -> HttpResponse:
    item = item_get(public_id=public_id)

    def change(on: bool) -> str:
        if services.item_watch_set(user=request.user, item=item, watching=on):
            return f"Saved “{item.title}”."
        return f"Removed “{item.title}” from your saved items."

    return _press(
        request,
        change=change,
        button=lambda: item_button(user=request.user, item=item),
        home=reverse("discovery:item", args=[item.public_id]),
    )


@require_POST
def stall_follow(request: HttpRequest, public_id: str) -> HttpResponse:
    stall = stall_get(public_id=public_id)

    def change(on: bool) -> str:
        if services.stall_follow_set(user=request.user, stall=stall, following=on):
            return f"Following {stall.name}."
        return f"You no longer follow {stall.name}."

    return _press(
        request,
        change=change,
        button=lambda: stall_button(user=request.user, stall=stall),
        home=reverse("stalls:detail", args=[stall.public_id]),
    )


def _lists(user) -> dict:
    return {
        "item_cards": selectors.saved_items_for(user=user),
        "stall_cards": selectors.followed_stalls_for(user=user),
    }


def _saved_lists(request: HttpRequest, *, said: str, undo=None, status=200) -> HttpResponse:
    context = {**_lists(request.user), "said": said, "undo": undo}
    return render(request, "watchlist/_saved_lists.html", context, status=status)


@login_required
@require_GET
def saved(request: HttpRequest) -> HttpResponse:
    """The signed-in person's saved items and followed stalls; nobody else's."""
    return render(request, "watchlist/saved.html", _lists(request.user))
