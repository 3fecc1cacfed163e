from datetime import timedelta

from django import forms
from django.conf import settings

from bazaar.money import AmountError, parse_amount

UNITS = {"s": ("seconds", 1), "m": ("minutes", 60), "h": ("hours", 3600)}


class MoneyField(forms.CharField):
    """An amount as people type it (`25`, `$25.50`), cleaned to minor units."""

    def to_python(self, value):
        text = super().to_python(value)
        if not text:
            return None
        try:
            return parse_amount(text, settings.MARKET_CURRENCY)
        except AmountError as error:
            raise forms.ValidationError(str(error)) from error


class AuctionStartForm(forms.Form):
    item = forms.ChoiceField(label="Item")
    start = MoneyField(
        label="Starting price", widget=forms.TextInput(attrs={"inputmode": "decimal"})
    )
    reserve = MoneyField(
        label="Reserve (hidden, optional)",
        required=False,
        help_text="Below this the item is not sold. Bidders only see whether it is met.",
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    buy_now = MoneyField(
        label="Buy-it-now price (optional)",
        required=False,
        help_text="Anyone may buy at this price until the first bid.",
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
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
