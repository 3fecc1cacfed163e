"""Forms for checkout and orders: they parse input; services apply the rules."""

from django import forms

from bazaar.money import AmountError, parse_amount
from stalls.forms import COUNTRIES, MoneyInput


class AmountField(MoneyInput):
    """An amount typed as 4.50 where zero is allowed (empty means zero)."""

    def to_python(self, value):
        value = forms.CharField.to_python(self, value)
        if value in self.empty_values:
            return 0
        try:
            return parse_amount(value, self.currency)
        except AmountError as exc:
            raise forms.ValidationError(str(exc)) from exc


class ShippingAddressForm(forms.Form):
    name = forms.CharField(max_length=120, label="Full name")
    line1 = forms.CharField(max_length=200, label="Address")
    line2 = forms.CharField(max_length=200, label="Address line 2", required=False)
    city = forms.CharField(max_length=100)
    postal_code = forms.CharField(max_length=20, label="Postal code")
    country = forms.ChoiceField(choices=COUNTRIES)


class ShipForm(forms.Form):
    carrier = forms.CharField(max_length=60, widget=forms.TextInput(attrs={"placeholder": "UPS"}))
    tracking_number = forms.CharField(max_length=80, label="Tracking number")


class DisputeForm(forms.Form):
    reason = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="What went wrong?",
    )


class DisputeAnswerForm(forms.Form):
    answer = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Your side",
        help_text="A steward reads both sides and decides.",
    )


class ShippingCostForm(forms.Form):
    shipping = AmountField(
        label="Shipping per order", required=False, help_text="0 or empty for free shipping."
    )


class SettleForm(forms.Form):
    refund = AmountField(
        label="Refund to the buyer",
        help_text="The rest of the order, less the platform fee, is paid to the seller.",
    )
    reason = forms.CharField(
        max_length=500,
        label="Why",
        help_text="Shown on the order's timeline and kept in the stewards' record.",
    )
