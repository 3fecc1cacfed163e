"""The search and filter form: it reads the query string, and a value it cannot use
is reported beside its field and left out, so the rest of the search still runs."""

from django import forms
from django.conf import settings

from bazaar.money import AmountError, parse_amount
from stalls.models import Category, Condition
from stalls.selectors import search_words

from .selectors import SearchFilters, Sort


class PriceBound(forms.CharField):
    """A price limit typed as 20 or 12.50, cleaned to minor units (None if empty)."""

    def __init__(self, **kwargs):
        super().__init__(
            required=False,
            widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 6, "maxlength": 12}),
            **kwargs,
        )

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        try:
            return parse_amount(value, settings.MARKET_CURRENCY)
        except AmountError as error:
            raise forms.ValidationError(str(error)) from error


class SearchForm(forms.Form):
    q = forms.CharField(required=False, label="Search for")
    category = forms.ChoiceField(
        required=False, choices=[("", "All categories"), *Category.choices]
    )
    condition = forms.MultipleChoiceField(
        required=False, choices=Condition.choices, widget=forms.CheckboxSelectMultiple
    )
    min_price = PriceBound(label="Lowest price")
    max_price = PriceBound(label="Highest price")
    auction = forms.BooleanField(required=False, label="In an auction")
    live = forms.BooleanField(required=False, label="Seller in the stall now")
    sold = forms.BooleanField(required=False, label="Include sold-out items")
    sort = forms.ChoiceField(required=False, choices=Sort.choices, label="Sort by")

    def clean_q(self) -> str:
        return self.cleaned_data["q"][:100]

    def clean(self):
        data = super().clean()
        low, high = data.get("min_price"), data.get("max_price")
        if low is not None and high is not None and high < low:
            self.add_error("max_price", "The highest price must be at least the lowest.")
        return data

    def filters(self) -> SearchFilters:
        """The filters from the fields that are valid (call after `is_valid()`)."""
        data = self.cleaned_data  # without the fields in error
        return SearchFilters(
            words=tuple(search_words(data.get("q", ""))),
            category=data.get("category", ""),
            conditions=tuple(data.get("condition", ())),
            min_cents=data.get("min_price"),
            max_cents=data.get("max_price"),
            in_auction=data.get("auction", False),
            live_now=data.get("live", False),
            sold_out=data.get("sold", False),
            sort=data.get("sort", ""),
        )
