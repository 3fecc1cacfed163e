"""Dashboard forms: they parse and validate input; services apply the rules."""

from django import forms
from django.conf import settings

from bazaar.money import AmountError, format_money, parse_amount

from .models import CONDITION_HINTS, SLOTS_PER_SECTION, Category, Condition

COUNTRIES = [
    ("US", "United States"),
    ("GB", "United Kingdom"),
    ("CA", "Canada"),
    ("AU", "Australia"),
    ("DE", "Germany"),
    ("FR", "France"),
    ("ES", "Spain"),
    ("IT", "Italy"),
    ("NL", "Netherlands"),
    ("IE", "Ireland"),
    ("SE", "Sweden"),
    ("JP", "Japan"),
    ("NZ", "New Zealand"),
]


class BecomeSellerForm(forms.Form):
    legal_name = forms.CharField(max_length=120, help_text="As on your ID; never shown to buyers.")
    country = forms.ChoiceField(choices=COUNTRIES)


class StallForm(forms.Form):
    name = forms.CharField(max_length=80)
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        required=False,
        max_length=5000,
        help_text="Markdown: **bold**, *italic*, lists and links.",
    )
    section_x = forms.IntegerField(label="Section x")
    section_y = forms.IntegerField(label="Section y")
    slot = forms.TypedChoiceField(
        coerce=int,
        choices=[(slot, f"Slot {slot + 1}") for slot in range(SLOTS_PER_SECTION)],
        help_text="Slots run left to right, top to bottom.",
    )


class MoneyInput(forms.CharField):
    """A price typed as 12.50 (or 12,50), cleaned to integer minor units."""

    def __init__(self, *args, currency: str | None = None, **kwargs):
        self.currency = currency or settings.MARKET_CURRENCY
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal"}))
        super().__init__(*args, **kwargs)

    def prepare_value(self, value):
        if isinstance(value, int):
            return format_money(value, self.currency).lstrip("$€£¥").replace(",", "")
        return value

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        try:
            cents = parse_amount(value, self.currency)
        except AmountError as exc:
            raise forms.ValidationError(str(exc)) from exc
        if cents <= 0:
            raise forms.ValidationError("The price must be more than zero.")
        return cents


class ItemForm(forms.Form):
    title = forms.CharField(max_length=120)
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=5000
    )
    price = MoneyInput(label="Price")
    inventory = forms.IntegerField(min_value=0, max_value=100000, initial=1)
    category = forms.ChoiceField(
        choices=[("", "Choose a category"), *Category.choices],
        error_messages={"required": "Choose a category."},
    )
    condition = forms.ChoiceField(
        choices=Condition.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose the item's condition."},
    )
    brand = forms.CharField(
        max_length=60, required=False, help_text="If it has one: Pyrex, Levi's, Leica…"
    )
    size = forms.CharField(
        max_length=30,
        required=False,
        help_text="For clothes and shoes, or its measurements: M, EU 42, 30 × 40 cm.",
    )

    def condition_choices(self) -> list[tuple]:
        """The condition radios, each with what its word means."""
        return [(radio, CONDITION_HINTS[radio.data["value"]]) for radio in self["condition"]]

    def __init__(self, *args, **kwargs):
        # The dashboard shows this form beside the stall form: ids of their own.
        kwargs.setdefault("auto_id", "item_%s")
        super().__init__(*args, **kwargs)

    def item_fields(self) -> dict:
        """The cleaned form as the keyword arguments of item_create / item_update."""
        data = self.cleaned_data
        return {
            "title": data["title"],
            "description": data["description"],
            "price_cents": data["price"],
            "inventory": data["inventory"],
            "category": data["category"],
            "condition": data["condition"],
            "brand": data["brand"],
            "size": data["size"],
        }


class PhotoForm(forms.Form):
    image = forms.FileField(
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"})
    )
