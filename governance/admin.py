from django.contrib import admin

from .admin_access import OpsReadOnlyAdmin
from .models import RoleGrant


@admin.register(RoleGrant)
class RoleGrantAdmin(OpsReadOnlyAdmin):
    list_display = ["user", "role", "granted_by", "granted_at"]
    list_filter = ["role"]
    search_fields = ["user__handle"]
