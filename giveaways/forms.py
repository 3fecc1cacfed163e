from django import forms

from .models import Giveaway


class GiveawayOpenForm(forms.Form):
    """The seller's giveaway form in the stall: which item, and who may enter."""

    item = forms.ChoiceField(label="Item")
    audience = forms.ChoiceField(
        label="Who may enter",
        choices=Giveaway.Audience.choices,
        initial=Giveaway.Audience.EVERYONE,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, items=(), **kwargs):
        super().__init__(*args, auto_id="giveaway_%s", label_suffix="", **kwargs)
        self.fields["item"].choices = [(item.public_id, item.title) for item in items]
