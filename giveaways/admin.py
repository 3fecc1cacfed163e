"""The steward console for giveaways: read-only, with each draw's audit (who was
eligible, the number picked, the winner) beside the giveaway."""

from django.contrib import admin

from governance.admin_access import StewardReadOnlyAdmin
from governance.selectors import user_is_steward

from .models import Giveaway, GiveawayDraw, GiveawayEvent


class ReadOnly:
    """An inline stewards read (their role, not a model permission, lets them in)."""

    extra = 0
    can_delete = False

    def has_view_permission(self, request, obj=None):
        return user_is_steward(user=request.user)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class DrawInline(ReadOnly, admin.StackedInline):
    model = GiveawayDraw
    fields = ["drawn_at", "actor", "entrants", "present", "eligible", "pick", "method", "winner"]
    readonly_fields = fields


class EventInline(ReadOnly, admin.TabularInline):
    model = GiveawayEvent
    fields = ["occurred_at", "from_status", "to_status", "actor", "note"]
    readonly_fields = fields


@admin.register(Giveaway)
class GiveawayAdmin(StewardReadOnlyAdmin):
    list_display = ("public_id", "stall", "item", "audience", "status", "winner", "opened_at")
    list_filter = ("status", "audience")
    search_fields = ("public_id", "stall__name", "item__title", "winner__handle")
    ordering = ("-opened_at",)
    list_select_related = ("stall", "item", "winner")
    inlines = [DrawInline, EventInline]
