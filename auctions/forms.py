from datetime import timedelta

from django import forms

from stalls.forms import MoneyInput

UNITS = {"s": ("seconds", 1), "m": ("minutes", 60), "h": ("hours", 3600)}


class AuctionStartForm(forms.Form):
    item = forms.ChoiceField(label="Item")
    start = MoneyInput(label="Starting price")
    reserve = MoneyInput(
        label="Reserve (hidden, optional)",
        required=False,
        help_text="Below this the item is not sold. Bidders only see whether it is met.",
    )
    buy_now = MoneyInput(
        label="Buy-it-now price (optional)",
        required=False,
        help_text="Anyone may buy at this price until the first bid.",
    )
    duration = forms.IntegerField(label="Runs for", min_value=1, initial=5)
    unit = forms.ChoiceField(
        label="Unit", choices=[(key, name) for key, (name, _) in UNITS.items()], initial="m"
    )
    starts_in = forms.IntegerField(
        label="Starts in (minutes)", min_value=0, max_value=7 * 24 * 60, initial=0
    )

    def __init__(self, *args, items=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["item"].choices = [(item.public_id, item.title) for item in items]

    def auction_fields(self) -> dict:
        data = self.cleaned_data
        return {
            "start_cents": data["start"],
            "reserve_cents": data["reserve"],
            "buy_now_cents": data["buy_now"],
            "duration": timedelta(seconds=data["duration"] * UNITS[data["unit"]][1]),
        }
