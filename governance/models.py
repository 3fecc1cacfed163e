from django.conf import settings
from django.db import models
from django.utils import timezone


class Role(models.TextChoices):
    """Powers beyond buying. Seller is not here: it is a seller profile in `stalls`."""

    STEWARD = "steward", "Steward"
    OPS = "ops", "Ops"


class RoleGrant(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_grants"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    granted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "role"], name="role_grant_unique")]

    def __str__(self) -> str:
        return f"{self.user} is {self.get_role_display()}"
