"""Admin access by role: stewards and ops see the console; changes go through actions
that call services, so the admin never bypasses a rule."""

from django.contrib import admin

from .selectors import user_is_ops, user_is_steward


class StewardReadOnlyAdmin(admin.ModelAdmin):
    """Stewards (and ops) may look; edits happen only through admin actions."""

    def has_module_permission(self, request):
        return request.user.is_active and user_is_steward(user=request.user)

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class OpsReadOnlyAdmin(StewardReadOnlyAdmin):
    def has_module_permission(self, request):
        return request.user.is_active and user_is_ops(user=request.user)
