from datetime import timedelta

from django import forms

from stalls.forms import MoneyInput

from .flash import FLASH_DURATIONS


def _duration_label(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} seconds"
    minutes = seconds / 60
    return f"{minutes:g} minute{'s' if minutes != 1 else ''}"


class FlashAuctionForm(forms.Form):
    """The seller's flash-auction form in the stall: item, opening bid, length, ending."""

    item = forms.ChoiceField(label="Item")
    start = MoneyInput(label="Opening bid", initial=100)
    duration = forms.TypedChoiceField(
        label="Runs for",
        coerce=int,
        choices=[(seconds, _duration_label(seconds)) for seconds in FLASH_DURATIONS],
        initial=60,
    )
    sudden_death = forms.BooleanField(
        label="Sudden death",
        required=False,
        help_text="The end never moves. Without it, a bid in the last 10 seconds "
        "moves the end to 15 seconds after that bid.",
    )

    def __init__(self, *args, items=(), **kwargs):
        super().__init__(*args, auto_id="flash_%s", label_suffix="", **kwargs)
        self.fields["item"].choices = [(item.public_id, item.title) for item in items]

    def flash_fields(self) -> dict:
        data = self.cleaned_data
        return {
            "start_cents": data["start"],
            "duration": timedelta(seconds=data["duration"]),
            "sudden_death": data["sudden_death"],
        }
