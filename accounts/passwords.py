"""A password rule Django does not ship: an upper bound on length."""

from django.core.exceptions import ValidationError


class MaximumLengthValidator:
    """Refuse passwords longer than `max_length` characters (OWASP ASVS 2.1.2: 64 must
    fit, more than 128 are refused), so a megabyte typed into the field is not hashed."""

    def __init__(self, max_length: int = 128):
        self.max_length = max_length

    def validate(self, password: str, user=None) -> None:
        if len(password) > self.max_length:
            raise ValidationError(
                f"This password is too long: at most {self.max_length} characters.",
                code="password_too_long",
            )

    def get_help_text(self) -> str:
        return f"Your password can be up to {self.max_length} characters long."
