from django.contrib.auth.models import AbstractBaseUser, PermissionsMixin, UserManager
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from bazaar.ids import PublicIdField

HANDLE_PATTERN = r"^[A-Za-z0-9_]{3,30}$"


class AccountManager(UserManager):
    def _create_user(self, username, email, password, **extra_fields):
        email = self.normalize_email(email)
        user = self.model(handle=username, email=email, **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def get_by_natural_key(self, handle):
        return self.get(handle__iexact=handle)


class User(AbstractBaseUser, PermissionsMixin):
    """Anyone with an account; every user can buy. The handle is what others see."""

    public_id = PublicIdField()
    handle = models.CharField(
        max_length=30,
        unique=True,
        validators=[RegexValidator(HANDLE_PATTERN, "3 to 30 letters, digits or underscores.")],
    )
    email = models.EmailField(unique=True)
    email_verified_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    # A new address waiting for its owner to click the link mailed to it; `email`
    # changes only then (accounts.settings_services).
    email_pending = models.EmailField(blank=True)
    # An IANA zone name (zoneinfo); pages show times in it (accounts.middleware).
    time_zone = models.CharField(max_length=64, default="UTC")

    objects = AccountManager()

    USERNAME_FIELD = "handle"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["email"]

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("handle"), name="user_handle_ci_unique"),
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.handle

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None
