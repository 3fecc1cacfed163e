"""Forms of the account settings: they parse input; accounts.settings_services holds
the rules."""

import copy
import zoneinfo
from collections import defaultdict
from functools import cache

from django import forms

from .forms import EMAIL_MAX_LENGTH
from .selectors import STEP_UP_SECONDS


@cache
def time_zone_choices() -> list:
    """IANA zones grouped by region ("Europe" → "Paris"), UTC first."""
    regions = defaultdict(list)
    for name in sorted(zoneinfo.available_timezones()):
        region, _, place = name.partition("/")
        if place and region not in ("Etc", "SystemV", "US", "Brazil", "Canada", "Chile", "Mexico"):
            regions[region].append((name, place.replace("_", " ").replace("/", ", ")))
    return [("UTC", "UTC (Coordinated Universal Time)"), *sorted(regions.items())]


class CurrentPasswordMixin:
    """A field asking for the account's password again before a change that matters."""

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("That is not your current password.")
        return password


def _password_field(label: str = "Your current password") -> forms.CharField:
    return forms.CharField(
        label=label,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": "Enter your current password."},
    )


class EmailChangeForm(CurrentPasswordMixin, forms.Form):
    new_email = forms.EmailField(
        label="New email address",
        max_length=EMAIL_MAX_LENGTH,
        help_text="We send a link to it; your address changes when you open that link.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={"required": "Enter the new email address."},
    )
    password = _password_field()


class TimeZoneForm(forms.Form):
    time_zone = forms.ChoiceField(
        label="Your time zone",
        help_text="Times on the market's pages are shown in it.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = time_zone_choices()


class AccountDeleteForm(CurrentPasswordMixin, forms.Form):
    password = _password_field("Your password, to confirm")


class SecondStepCodeForm(forms.Form):
    """A code from the authenticator app, or a recovery code (the service tells which)."""

    code = forms.CharField(
        label="Code",
        max_length=32,
        help_text="The six digits your authenticator app shows for Mesh Bazaar.",
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "autocapitalize": "none",
                "spellcheck": "false",
                "class": "code-input",
            }
        ),
        error_messages={"required": "Type the code your authenticator app shows."},
    )

    def __init__(self, *args, autofocus: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if autofocus:
            self.fields["code"].widget.attrs["autofocus"] = True


STEP_UP_ASKED = "Money moves only after a fresh code: type the six digits your app shows now."


def step_up_code_field() -> forms.CharField:
    """The code a settlement asks for when the step was passed too long ago
    (accounts.second_factor_views.step_up)."""
    field = copy.deepcopy(SecondStepCodeForm.base_fields["code"])
    field.label = "Your app's code"
    field.help_text = (
        f"{STEP_UP_ASKED} The last was typed over {STEP_UP_SECONDS // 60} minutes ago."
    )
    return field
