from django.contrib import admin

from governance.admin_access import OpsReadOnlyAdmin, StewardReadOnlyAdmin

from .models import AnalyticsEvent, Section


@admin.register(Section)
class SectionAdmin(StewardReadOnlyAdmin):
    list_display = ["x", "y", "name", "public_id"]
    search_fields = ["name"]
    ordering = ["y", "x"]


@admin.register(AnalyticsEvent)
class AnalyticsEventAdmin(OpsReadOnlyAdmin):
    list_display = ["kind", "x", "y", "visitor", "user", "occurred_at"]
    list_filter = ["kind"]
    date_hierarchy = "occurred_at"
