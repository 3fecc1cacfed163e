"""The Save and Follow buttons as one viewer sees them: the one template
(`watchlist/_toggle.html`) draws both, from the template tags and from the views
that answer a press."""

from dataclasses import dataclass

from django.urls import reverse

from stalls.models import Item, Stall

from .selectors import item_watch_state, stall_follow_state


@dataclass(frozen=True)
class ToggleButton:
    dom_id: str
    action: str
    on: bool
    own: bool  # the seller's own item or stall: the count, no button
    label_off: str
    label_on: str
    subject: str  # what it is about, for screen readers ("Save" what?)
    count_text: str
    icon: str

    @property
    def label(self) -> str:
        return self.label_on if self.on else self.label_off


def item_button(*, user, item: Item) -> ToggleButton:
    state = item_watch_state(user=user, item=item)
    return ToggleButton(
        dom_id=f"watch-{item.public_id}",
        action=reverse("watchlist:item_watch", args=[item.public_id]),
        on=state.on,
        own=item.stall.seller.user_id == user.pk,
        label_off="Save",
        label_on="Saved",
        subject=item.title,
        count_text=f"{state.count} watching" if state.count else "",
        icon="heart",
    )


def stall_button(*, user, stall: Stall) -> ToggleButton:
    state = stall_follow_state(user=user, stall=stall)
    followers = f"{state.count} follower{'' if state.count == 1 else 's'}"
    return ToggleButton(
        dom_id=f"follow-{stall.public_id}",
        action=reverse("watchlist:stall_follow", args=[stall.public_id]),
        on=state.on,
        own=stall.seller.user_id == user.pk,
        label_off="Follow",
        label_on="Following",
        subject=stall.name,
        count_text=followers if state.count else "",
        icon="plus",
    )
