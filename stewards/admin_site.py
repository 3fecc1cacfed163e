"""Django's admin behind a second step (OWASP ASVS V4.3.1): a steward or ops who signed
in with a password passes two-step verification before any admin page, and sets it up
on the first visit (accounts.second_factor_views)."""

from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from accounts.second_factor_views import redirect_to_second_step, second_step_in_force
from accounts.selectors import second_step_passed


class StewardsAdminSite(admin.AdminSite):
    # The admin's index opens with the queue's counts and the console's pages.
    index_template = "stewards/admin_index.html"

    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and second_step_in_force(request)

    def login(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        """Someone signed out logs in on the market's own page, with its limits (per
        address, per account: accounts.login_services), never on a second password
        form; someone with a role, signed in but not past the second step, is sent to
        it rather than shown the password form again."""
        user = request.user
        back = request.GET.get(REDIRECT_FIELD_NAME) or reverse("admin:index", current_app=self.name)
        if not user.is_authenticated:
            return redirect_to_login(back)
        if (
            user.is_active
            and user.is_staff
            and not second_step_passed(user=user, session=request.session)
        ):
            return redirect_to_second_step(request, back)
        return super().login(request, extra_context)
