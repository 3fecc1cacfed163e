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


class SignIn(models.Model):
    """A session someone signed in to, so they can see where they are signed in and
    end any of those sessions (the session itself is Django's: this names its key)."""

    public_id = PublicIdField()
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sign_ins")
    session_key = models.CharField(max_length=40, unique=True)
    signed_in_at = models.DateTimeField(default=timezone.now)
    # "Firefox on Windows": from the User-Agent at sign-in (accounts.devices); no
    # address is kept.
    device = models.CharField(max_length=80)

    class Meta:
        indexes = [models.Index(fields=["user", "-signed_in_at"], name="sign_in_user_recent")]

    def __str__(self) -> str:
        return f"{self.user} on {self.device}"
