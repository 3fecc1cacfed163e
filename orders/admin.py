"""The steward console for orders: look at everything, change only through actions
that call services (settling disputes); ops see payments, webhooks, money movements
and chargebacks."""

from django.contrib import admin, messages
from django.db.models import Exists, OuterRef
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from accounts.second_factor_views import step_up
from accounts.selectors import second_step_recent
from accounts.settings_forms import step_up_code_field
from bazaar.errors import DomainError
from bazaar.money import format_money
from governance.admin_access import OpsReadOnlyAdmin, ReadsRecorded, StewardReadOnlyAdmin
from governance.selectors import user_is_steward

from .escrow.services import order_dispute_settle
from .forms import SettleForm, SettleReasonForm
from .models import (
    Chargeback,
    MoneyMove,
    Order,
    OrderEvent,
    OrderLine,
    Payment,
    PayoutAccount,
    WebhookEvent,
)
from .payments.services import money_move_send


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class LineInline(ReadOnlyInline):
    model = OrderLine
    fields = ["title", "unit_price_cents", "quantity", "offer_public_id"]
    readonly_fields = fields


class EventInline(ReadOnlyInline):
    model = OrderEvent
    fields = ["created_at", "kind", "from_status", "to_status", "actor", "note"]
    readonly_fields = fields


class MoveInline(ReadOnlyInline):
    model = MoneyMove
    fields = ["kind", "status", "amount_cents", "fee_cents", "gateway_id", "attempts", "last_error"]
    readonly_fields = fields


class ChargebackFilter(admin.SimpleListFilter):
    title = "chargeback"
    parameter_name = "chargeback"

    def lookups(self, request, model_admin):
        return [("yes", "With a chargeback")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(has_chargeback=True)
        return queryset


@admin.register(Order)
class OrderAdmin(ReadsRecorded, StewardReadOnlyAdmin):
    list_display = ["public_id", "buyer", "stall", "status", "total", "created_at", "chargeback"]
    list_filter = ["status", ChargebackFilter]
    list_select_related = ["buyer", "stall"]
    search_fields = ["public_id", "buyer__handle", "stall__name", "tracking_number"]
    readonly_fields = [
        "public_id",
        "payment",
        "buyer",
        "stall",
        "status",
        "total",
        "refunded",
        "ship_to",
        "carrier",
        "tracking_number",
        "dispute_reason",
        "timeline",
        "created_at",
        "paid_at",
        "shipped_at",
        "disputed_at",
        "released_at",
        "closed_at",
    ]
    fields = readonly_fields
    inlines = [LineInline, MoveInline, EventInline]
    actions = ["settle_refund_full", "settle_release", "settle_refund_part"]

    def get_queryset(self, request):
        """The chargeback flag in the same query, not two more queries per listed row."""
        chargebacks = Chargeback.objects.filter(payment_id=OuterRef("payment_id"))
        return super().get_queryset(request).annotate(has_chargeback=Exists(chargebacks))

    def has_settle_permission(self, request):
        return user_is_steward(user=request.user)

    @admin.display(description="timeline and evidence")
    def timeline(self, order: Order) -> str:
        """The dispute's photos are private: they show on the order's own page, which
        stewards may read, not in the admin."""
        url = reverse("orders:detail", args=[order.public_id])
        return format_html("<a href=\"{}\">The order's timeline, with both sides' photos</a>", url)

    @admin.display(description="total")
    def total(self, order: Order) -> str:
        return format_money(order.total_cents, order.currency)

    @admin.display(description="refunded")
    def refunded(self, order: Order) -> str:
        return format_money(order.refunded_cents, order.currency)

    @admin.display(description="chargeback", boolean=True)
    def chargeback(self, order: Order) -> bool:
        return order.has_chargeback

    def _settle(self, request, orders, refund_for, reason: str = "") -> None:
        settled = 0
        for order in orders:
            try:
                order_dispute_settle(
                    actor=request.user, order=order, refund_cents=refund_for(order), reason=reason
                )
            except DomainError as error:
                self.message_user(request, f"{order}: {error.message}", messages.ERROR)
            else:
                settled += 1
        if settled:
            self.message_user(request, f"Settled {settled} dispute(s).", messages.SUCCESS)

    def _settle_asking_why(self, request, queryset, *, form_class, refund_for, title: str):
        """Every settlement says why (the timeline and the stewards' record show it):
        the action first asks, on a page of its own, and settles once answered."""
        action = request.POST["action"]
        form = form_class(request.POST if "apply" in request.POST else None)
        if not second_step_recent(request.session):
            form.fields["code"] = step_up_code_field()
        if form.is_bound and form.is_valid() and self._stepped_up(request, form):
            self._settle(
                request,
                queryset,
                lambda order: refund_for(order, form.cleaned_data),
                reason=form.cleaned_data["reason"],
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "orders": queryset,
            "form": form,
            "action": action,
            "opts": self.model._meta,
        }
        status = 400 if form.is_bound else 200
        return TemplateResponse(request, "admin/orders/settle.html", context, status=status)

    @staticmethod
    def _stepped_up(request, form) -> bool:
        """Money moves after a fresh second step; a refused code is said on its field."""
        try:
            step_up(request, form.cleaned_data.get("code", ""))
        except DomainError as refused:
            form.add_error("code" if "code" in form.fields else None, refused.message)
            return False
        return True

    @admin.action(description="Settle dispute: refund the buyer in full…", permissions=["settle"])
    def settle_refund_full(self, request, queryset):
        return self._settle_asking_why(
            request,
            queryset,
            form_class=SettleReasonForm,
            refund_for=lambda order, _: order.total_cents - order.refunded_cents,
            title="Refund the buyer in full",
        )

    @admin.action(description="Settle dispute: release to the seller…", permissions=["settle"])
    def settle_release(self, request, queryset):
        return self._settle_asking_why(
            request,
            queryset,
            form_class=SettleReasonForm,
            refund_for=lambda order, _: 0,
            title="Release the money to the seller",
        )

    @admin.action(description="Settle dispute: refund part…", permissions=["settle"])
    def settle_refund_part(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Choose one order for a partial refund.", messages.ERROR)
            return None
        return self._settle_asking_why(
            request,
            queryset,
            form_class=SettleForm,
            refund_for=lambda order, data: data["refund"],
            title=f"Partial refund for {queryset.get()}",
        )


@admin.register(Payment)
class PaymentAdmin(OpsReadOnlyAdmin):
    list_display = ["public_id", "buyer", "kind", "status", "amount_cents", "gateway", "created_at"]
    list_filter = ["status", "kind", "gateway"]
    search_fields = ["public_id", "buyer__handle", "session_id", "payment_intent_id", "charge_id"]


@admin.register(MoneyMove)
class MoneyMoveAdmin(OpsReadOnlyAdmin):
    list_display = [
        "public_id",
        "order",
        "kind",
        "status",
        "amount_cents",
        "attempts",
        "last_error",
    ]
    list_filter = ["status", "kind"]
    search_fields = ["public_id", "order__public_id", "gateway_id"]
    actions = ["send_again"]

    def has_send_permission(self, request):
        return self.has_module_permission(request)

    @admin.action(description="Send again now", permissions=["send"])
    def send_again(self, request, queryset):
        for move in queryset.exclude(status=MoneyMove.Status.DONE):
            sent = money_move_send(move_id=move.pk)
            outcome = sent.get_status_display() if sent else "taken by another runner"
            self.message_user(request, f"{move.public_id}: {outcome}.")


@admin.register(WebhookEvent)
class WebhookEventAdmin(OpsReadOnlyAdmin):
    list_display = ["event_id", "type", "gateway", "outcome", "note", "received_at"]
    list_filter = ["outcome", "gateway", "type"]
    search_fields = ["event_id", "note"]


@admin.register(Chargeback)
class ChargebackAdmin(OpsReadOnlyAdmin):
    list_display = ["dispute_id", "payment", "amount_cents", "currency", "reason", "status"]
    list_filter = ["status"]


@admin.register(PayoutAccount)
class PayoutAccountAdmin(OpsReadOnlyAdmin):
    list_display = ["seller", "gateway", "account_id", "details_submitted", "payouts_enabled"]
