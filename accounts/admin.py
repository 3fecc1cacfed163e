from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from .forms import AdminUserAddForm, AdminUserChangeForm
from .models import User

# Authenticator secrets and recovery codes are nobody's to read or change in the admin:
# people set up their own at /account/two-step/, ops reset one with `two_step_reset`.
# django-otp's apps come before this one in INSTALLED_APPS, so theirs are registered.
admin.site.unregister(TOTPDevice)
admin.site.unregister(StaticDevice)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """Django's user admin fitted to handle and email.

    is_staff is read-only: admin access follows steward and ops roles, which
    governance grants through accounts.services.user_set_staff.
    """

    form = AdminUserChangeForm
    add_form = AdminUserAddForm
    list_display = ("handle", "email", "verified", "is_staff", "date_joined")
    list_filter = (
        "is_staff",
        "is_superuser",
        "is_active",
        ("email_verified_at", admin.EmptyFieldListFilter),
        "groups",
    )
    search_fields = ("handle", "email")
    ordering = ("-date_joined",)
    readonly_fields = ("public_id", "is_staff", "last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("public_id", "handle", "email", "password")}),
        ("Email", {"fields": ("email_verified_at",)}),
        (
            "Access",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("handle", "email", "usable_password", "password1", "password2"),
            },
        ),
    )

    @admin.display(boolean=True, description="Verified", ordering="email_verified_at")
    def verified(self, user: User) -> bool:
        return user.email_verified
