"""Account forms: they parse input; accounts.services holds the rules."""

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import (
    AdminUserCreationForm,
    AuthenticationForm,
    UserChangeForm,
    UsernameField,
)
from django.core.validators import RegexValidator
from django.urls import reverse
from django.utils.html import format_html

from .models import User
from .services import user_identity_conflicts

EMAIL_MAX_LENGTH = 254
# The model's own pattern check, so a bad handle is reported with the other field errors.
HANDLE_RULE = next(
    validator
    for validator in User._meta.get_field("handle").validators
    if isinstance(validator, RegexValidator)
)


class SignupForm(forms.Form):
    handle = forms.CharField(
        max_length=30,
        validators=[HANDLE_RULE],
        help_text="What others see: 3 to 30 letters, digits or underscores.",
        widget=forms.TextInput(
            attrs={"autofocus": True, "autocapitalize": "none", "autocomplete": "username"}
        ),
    )
    email = forms.EmailField(
        max_length=EMAIL_MAX_LENGTH,
        help_text="We send a link to confirm it. Never shown to others.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password = forms.CharField(
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password_confirm = forms.CharField(
        label="Confirm password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    privacy_notice = forms.BooleanField(
        label="I have read the privacy notice",
        error_messages={"required": "Read the privacy notice, then tick the box to join."},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["privacy_notice"].help_text = format_html(
            '<a href="{}" target="_blank" rel="noopener">The privacy notice</a> (opens in '
            "a new tab) says what we keep about you, why and for how long.",
            reverse("privacy:notice"),
        )

    def clean(self):
        cleaned = super().clean()
        password, confirm = cleaned.get("password"), cleaned.get("password_confirm")
        if password and confirm and password != confirm:
            self.add_error("password_confirm", "The two passwords don't match.")
        return cleaned


class LoginForm(AuthenticationForm):
    """Django's login form, asking for a handle or an email address."""

    username = UsernameField(
        label="Handle or email", widget=forms.TextInput(attrs={"autofocus": True})
    )
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That handle or email and password don't match an account.",
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Django sizes the field for the handle (30); an email address can be longer.
        self.fields["username"].max_length = EMAIL_MAX_LENGTH
        self.fields["username"].widget.attrs["maxlength"] = EMAIL_MAX_LENGTH


class _IdentityConflictsMixin:
    """Case-insensitive uniqueness with sign-up's messages, instead of the database
    constraint's generic one."""

    def clean(self):
        cleaned = super().clean()
        conflicts = user_identity_conflicts(
            handle=cleaned.get("handle", ""), email=cleaned.get("email", ""), exclude=self.instance
        )
        for field, errors in conflicts.items():
            self.add_error(field, errors)
        return cleaned


class AdminUserAddForm(_IdentityConflictsMixin, AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("handle", "email")


class AdminUserChangeForm(_IdentityConflictsMixin, UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"
