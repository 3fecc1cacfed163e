import hmac

from django.contrib.auth.models import AbstractBaseUser, PermissionsMixin, UserManager
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from bazaar.ids import PublicIdField

from .authenticator_keys import secret_opened
from .recovery_codes import recovery_code_digest, recovery_code_salt

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
    # Which edition of the privacy notice (/privacy/) the person read at sign-up, and
    # when; empty for accounts opened before sign-up asked.
    privacy_notice_version = models.CharField(max_length=16, blank=True)
    privacy_notice_read_at = models.DateTimeField(null=True, blank=True)

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


class AuthenticatorApp(TOTPDevice):
    """A person's authenticator app: django-otp's TOTP device (its checks, drift and
    throttling) whose secret is kept sealed in `key` (accounts.authenticator_keys)."""

    class Meta:
        proxy = True

    @property
    def bin_key(self) -> bytes:
        return secret_opened(self.key, user_id=self.user_id)[0]


class RecoveryCodes(StaticDevice):
    """The holder of a person's recovery codes: django-otp's static device (its
    throttling, its place in the session) checking a code against the digests of
    `RecoveryCode`, not against codes kept in clear."""

    class Meta:
        proxy = True

    def verify_token(self, token: str) -> bool:
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        match = next((kept for kept in self.recovery_codes.all() if kept.matches(token)), None)
        if match is None:
            self.throttle_increment()
            return False
        match.delete()
        self.throttle_reset(commit=False)
        self.set_last_used_timestamp(commit=False)
        self.save()
        return True


class RecoveryCode(models.Model):
    """One unused recovery code: a salt and the SHA-256 of the salt and the code."""

    device = models.ForeignKey(
        StaticDevice, on_delete=models.CASCADE, related_name="recovery_codes"
    )
    salt = models.BinaryField()
    digest = models.BinaryField()

    @classmethod
    def kept_for(cls, device: StaticDevice, code: str) -> "RecoveryCode":
        salt = recovery_code_salt()
        return cls(device=device, salt=salt, digest=recovery_code_digest(code, salt))

    def matches(self, code: str) -> bool:
        return hmac.compare_digest(bytes(self.digest), recovery_code_digest(code, bytes(self.salt)))
