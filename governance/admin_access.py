"""Admin access by role: stewards and ops see the console; changes go through actions
that call services, so the admin never bypasses a rule."""

from django.contrib import admin

from .selectors import user_is_ops, user_is_steward
from .services import personal_data_read_record


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


class ReadsRecorded:
    """For an admin whose pages show people's data: each look at its list or at one
    record goes on the stewards' record (ASVS V8.3.5). A search is recorded as one
    without its words, which may be someone's email. A page refused or redirected
    records nothing; nor do the page's own form posts, which are actions with their
    own records."""

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        if request.method == "GET" and response.status_code == 200:
            searched = ", searched" if request.GET.get("q") else ""
            personal_data_read_record(
                actor=request.user,
                target_kind=self.opts.model_name,
                target_ref="list",
                target_label=f"The list of {self.opts.verbose_name_plural}{searched}",
            )
        return response

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        """One record's page, with the record the admin already read (no second query)."""
        if request.method == "GET" and obj is not None:
            personal_data_read_record(
                actor=request.user,
                target_kind=self.opts.model_name,
                target_ref=str(getattr(obj, "public_id", obj.pk)),
                target_label=str(obj),
            )
        return super().render_change_form(request, context, add, change, form_url, obj)
