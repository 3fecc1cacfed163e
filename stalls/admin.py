from django.contrib import admin, messages

from governance.admin_access import StewardReadOnlyAdmin

from .models import Item, Reservation, SellerProfile, Stall, StockEvent
from .services import seller_kyc_decide


@admin.register(SellerProfile)
class SellerProfileAdmin(StewardReadOnlyAdmin):
    list_display = ["user", "legal_name", "country", "kyc_status", "created_at"]
    list_filter = ["kyc_status", "country"]
    search_fields = ["user__handle", "legal_name"]
    actions = ["approve_kyc", "reject_kyc"]

    def has_change_permission(self, request, obj=None):
        return self.has_module_permission(request)  # for the KYC actions only

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def _decide(self, request, queryset, approved: bool):
        for seller in queryset:
            seller_kyc_decide(seller=seller, approved=approved)
        verdict = "approved" if approved else "rejected"
        self.message_user(
            request, f"KYC {verdict} for {queryset.count()} seller(s).", messages.SUCCESS
        )

    @admin.action(description="Approve KYC")
    def approve_kyc(self, request, queryset):
        self._decide(request, queryset, approved=True)

    @admin.action(description="Reject KYC")
    def reject_kyc(self, request, queryset):
        self._decide(request, queryset, approved=False)


@admin.register(Stall)
class StallAdmin(StewardReadOnlyAdmin):
    list_display = ["name", "seller", "section", "slot", "updated_at"]
    search_fields = ["name", "seller__user__handle"]
    list_select_related = ["seller__user", "section"]


@admin.register(Item)
class ItemAdmin(StewardReadOnlyAdmin):
    list_display = ["title", "stall", "price_cents", "currency", "inventory", "archived_at"]
    search_fields = ["title", "stall__name"]
    list_select_related = ["stall"]


@admin.register(Reservation)
class ReservationAdmin(StewardReadOnlyAdmin):
    list_display = [
        "item",
        "holder",
        "reason",
        "quantity",
        "expires_at",
        "released_at",
        "consumed_at",
    ]
    list_filter = ["reason"]


@admin.register(StockEvent)
class StockEventAdmin(StewardReadOnlyAdmin):
    list_display = ["item", "kind", "quantity", "actor", "occurred_at"]
    list_filter = ["kind"]
