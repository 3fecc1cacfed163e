"""Stewards read reviews and hide abusive ones (the admin's actions call the service;
the rows themselves are read-only)."""

from django.contrib import admin, messages

from bazaar.errors import DomainError
from governance.admin_access import StewardReadOnlyAdmin

from . import services
from .models import Review


@admin.register(Review)
class ReviewAdmin(StewardReadOnlyAdmin):
    list_display = ("public_id", "stall", "buyer", "stars", "created_at", "hidden")
    list_filter = ("stars", ("hidden_at", admin.EmptyFieldListFilter))
    search_fields = ("public_id", "stall__name", "buyer__handle", "text")
    ordering = ("-created_at",)
    list_select_related = ("stall", "buyer")
    actions = ("hide_reviews", "show_reviews")
    fields = (
        "public_id",
        "order",
        "stall",
        "buyer",
        "stars",
        "text",
        "created_at",
        "reply",
        "replied_at",
        "hidden_at",
        "hidden_by",
        "hidden_reason",
    )
    readonly_fields = fields

    @admin.display(boolean=True, description="Hidden", ordering="hidden_at")
    def hidden(self, review: Review) -> bool:
        return review.hidden

    def _each(self, request, reviews, change, done: str) -> None:
        try:
            for review in reviews:
                change(review)
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)
            return
        self.message_user(request, done.format(count=len(reviews)), messages.SUCCESS)

    @admin.action(description="Hide the selected reviews (abusive)")
    def hide_reviews(self, request, queryset) -> None:
        self._each(
            request,
            list(queryset),
            lambda review: services.review_hide(
                actor=request.user, review=review, reason="Hidden by a steward: abusive."
            ),
            "{count} review(s) hidden from the stall pages and their averages.",
        )

    @admin.action(description="Show the selected reviews again")
    def show_reviews(self, request, queryset) -> None:
        self._each(
            request,
            list(queryset),
            lambda review: services.review_show(actor=request.user, review=review),
            "{count} review(s) shown again.",
        )
