"""Whether the banner asking a signed-in person to look at the privacy notice shows:
asked lazily, so a page that never draws the banner never asks."""

from . import selectors


def notice(request):
    return {
        "privacy_notice_due": lambda: selectors.notice_due(user=request.user),
        "privacy_notice_edition": selectors.notice_edition,
    }
