"""Forms for checkout and orders: they parse input; services apply the rules."""

from django import forms
from django.conf import settings

from bazaar.money import AmountError, format_money, parse_amount
from stalls.forms import COUNTRIES


class AmountField(forms.CharField):
    """An amount typed as 4.50 (zero allowed), cleaned to integer minor units."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal"}))
        super().__init__(*args, **kwargs)

    def prepare_value(self, value):
        if isinstance(value, int):
            return format_money(value, settings.MARKET_CURRENCY).lstrip("$€£¥").replace(",", "")
        return value

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return 0
        try:
            return parse_amount(value, settings.MARKET_CURRENCY)
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


class ShippingCostForm(forms.Form):
    shipping = AmountField(
        label="Shipping per order", required=False, help_text="0 or empty for free shipping."
    )


class SettleForm(forms.Form):
    refund = AmountField(
        label="Refund to the buyer",
        help_text="The rest of the order, less the platform fee, is paid to the seller.",
    )
