"""The page that closes an account. Thin: parse, call a service, render."""

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.settings_forms import AccountDeleteForm
from bazaar.errors import DomainError

from . import selectors, services


@login_required
@require_http_methods(["GET", "POST"])
def account_delete(request: HttpRequest) -> HttpResponse:
    """Says what happens and what stands in the way; deletes on the password."""
    form = AccountDeleteForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.account_delete(user=request.user)
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            logout(request)
            messages.success(request, "Your account is deleted. Thank you for trading with us.")
            return redirect("discovery:home")
    blockers = selectors.deletion_blockers(user=request.user)
    status = 409 if request.method == "POST" and blockers else (400 if form.errors else 200)
    return render(
        request, "privacy/delete.html", {"form": form, "blockers": blockers}, status=status
    )
