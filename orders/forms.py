"""Forms for checkout and orders: they parse input; services apply the rules."""

from django import forms
from django.conf import settings

from bazaar.money import AmountError, parse_amount
from stalls.forms import COUNTRIES, MoneyInput
from stalls.images import ImageRefused, process_upload


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


class PhotosInput(forms.FileInput):
    allow_multiple_selected = True


class EvidencePhotosField(forms.FileField):
    """Up to DISPUTE_PHOTOS_MAX photos, each checked and re-encoded by `stalls.images`
    (too big, not a photo, undecodable: said in place, naming the file); cleaned to
    the processed images the screening then takes."""

    widget = PhotosInput(attrs={"accept": "image/jpeg,image/png,image/webp"})

    def __init__(self, **kwargs):
        limit = settings.DISPUTE_PHOTOS_MAX
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", f"Photos (up to {limit}; optional)")
        kwargs.setdefault(
            "help_text",
            "JPEG, PNG or WebP. Only the buyer, the seller and the stewards see them, "
            "once they have been checked.",
        )
        super().__init__(**kwargs)

    def clean(self, data, initial=None):
        files = [file for file in (data or []) if file]
        limit = settings.DISPUTE_PHOTOS_MAX
        if len(files) > limit:
            raise forms.ValidationError(
                f"You chose {len(files)} photos; send at most {limit}, the ones that show it best."
            )
        processed = []
        for file in files:
            try:
                processed.append(process_upload(file))
            except ImageRefused as refused:
                raise forms.ValidationError(f"“{file.name}”: {refused.message}") from refused
        return processed


class DisputeForm(forms.Form):
    reason = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="What went wrong?",
    )
    photos = EvidencePhotosField()


class DisputeAnswerForm(forms.Form):
    answer = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Your side",
        help_text="A steward reads both sides and decides.",
    )
    photos = EvidencePhotosField()


class ShippingCostForm(forms.Form):
    shipping = AmountField(
        label="Shipping per order", required=False, help_text="0 or empty for free shipping."
    )


class SettleReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        label="Why",
        help_text="Shown on the order's timeline and kept in the stewards' record.",
        error_messages={"required": "Say why you decided so: buyer and seller read it."},
    )


class SettleForm(SettleReasonForm):
    refund = AmountField(
        label="Refund to the buyer",
        help_text="The rest of the order, less the platform fee, is paid to the seller.",
    )
    field_order = ["refund", "reason"]
