from django.contrib import admin, messages

from bazaar.errors import DomainError
from governance.admin_access import ReadsRecorded, StewardReadOnlyAdmin

from .models import ChatMessage, Item, Reservation, SellerProfile, Stall, StockEvent
from .room.chat import chat_message_delete, chat_message_release
from .services import seller_kyc_decide


@admin.register(SellerProfile)
class SellerProfileAdmin(ReadsRecorded, StewardReadOnlyAdmin):
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
    list_display = [
        "title",
        "stall",
        "category",
        "condition",
        "price_cents",
        "currency",
        "inventory",
        "archived_at",
    ]
    list_filter = ["category", "condition"]
    search_fields = ["title", "brand", "stall__name"]
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


@admin.register(ChatMessage)
class ChatMessageAdmin(StewardReadOnlyAdmin):
    """The moderation queue: filter by "Held for review", then release or delete.

    Both actions go through the chat services, which update the stall document
    and tell the author."""

    list_display = ["created_at", "stall", "author", "text", "status", "flags"]
    list_filter = ["status"]
    search_fields = ["text", "author__handle", "stall__name"]
    list_select_related = ["stall", "author"]
    actions = ["release", "delete_messages"]
    date_hierarchy = "created_at"

    def has_change_permission(self, request, obj=None):
        return self.has_module_permission(request)  # for the moderation actions only

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def _moderate(self, request, queryset, service, verb: str):
        done = 0
        for message in queryset:
            try:
                service(message=message, actor=request.user)
                done += 1
            except DomainError as error:
                self.message_user(
                    request, f"{message.public_id}: {error.message}", messages.WARNING
                )
        self.message_user(request, f"{verb} {done} message(s).", messages.SUCCESS)

    @admin.action(description="Release selected held messages")
    def release(self, request, queryset):
        self._moderate(request, queryset, chat_message_release, "Released")

    @admin.action(description="Delete selected messages")
    def delete_messages(self, request, queryset):
        self._moderate(request, queryset, chat_message_delete, "Deleted")
