"""What a report can be about, looked up through the owning app's selectors and
described for `governance.reports.report_create`."""

from django.contrib.auth import get_user_model
from django.urls import reverse

from bazaar.errors import NotFound
from governance.models import Report
from governance.reports import ReportTarget
from stalls.room.selectors import chat_message_visible
from stalls.selectors import item_get, stall_for_user, stall_get

Kind = Report.TargetKind


def report_target(*, kind: str, public_id: str) -> ReportTarget:
    """The thing named by a report link; 404 for anything that is not there to see."""
    if kind == Kind.STALL:
        stall = stall_get(public_id=public_id)
        url = reverse("stalls:detail", args=[stall.public_id])
        return ReportTarget(Kind.STALL, stall.public_id, stall.name, url, stall.seller.user)
    if kind == Kind.ITEM:
        item = item_get(public_id=public_id)
        url = reverse("discovery:item", args=[item.public_id])
        return ReportTarget(Kind.ITEM, item.public_id, item.title, url, item.stall.seller.user)
    if kind == Kind.CHAT:
        message = chat_message_visible(public_id=public_id)
        if message is None:
            raise NotFound("That chat message is not there any more.")
        label = f"@{message.author.handle} in {message.stall.name}: “{message.text[:100]}”"
        url = reverse("stalls:detail", args=[message.stall.public_id])
        return ReportTarget(Kind.CHAT, message.public_id, label, url, message.author)
    if kind == Kind.USER:
        user = get_user_model()._default_manager.filter(public_id=public_id, is_active=True).first()
        if user is None:
            raise NotFound("Nobody has that address.")
        stall = stall_for_user(user=user)
        url = reverse("stalls:detail", args=[stall.public_id]) if stall else ""
        return ReportTarget(Kind.USER, user.public_id, f"@{user.handle}", url, user)
    raise NotFound("Only stalls, items, chat messages and people can be reported.")
