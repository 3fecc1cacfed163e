from django.contrib import admin

from governance.admin_access import StewardReadOnlyAdmin

from .models import Section


@admin.register(Section)
class SectionAdmin(StewardReadOnlyAdmin):
    list_display = ["x", "y", "name", "public_id"]
    search_fields = ["name"]
    ordering = ["y", "x"]
