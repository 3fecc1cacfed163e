"""The notifications page, the email settings page and the unsubscribe page.
Thin: parse, call a service, render."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from bazaar.errors import NotFound

from . import selectors, services
from .kinds import GROUPS, MAILED_BY_ORDERS
from .models import Kind
from .tokens import ALL, unsubscribe_read

PER_PAGE = 20


@login_required
def notice_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.notices_for(user=request.user), PER_PAGE).get_page(
        request.GET.get("page")
    )
    unread = selectors.unread_count(user=request.user)
    return render(request, "notifications/list.html", {"page": page, "unread": unread})


@login_required
@require_POST
def notice_open(request: HttpRequest, public_id: str) -> HttpResponse:
    """Clicking a notice: it is read, and the person goes where it leads."""
    notice = services.notice_open(user=request.user, public_id=public_id)
    if notice is None:
        raise NotFound("There is no such notification.")
    if not url_has_allowed_host_and_scheme(notice.url, allowed_hosts={request.get_host()}):
        return redirect("notifications:list")
    return redirect(notice.url)


@login_required
@require_POST
def notices_read_all(request: HttpRequest) -> HttpResponse:
    count = services.notices_mark_all_read(user=request.user)
    messages.success(
        request,
        f"Marked {count} notification{'s' if count != 1 else ''} read."
        if count
        else "Nothing was unread.",
    )
    return redirect("notifications:list")


@login_required
@require_http_methods(["GET", "POST"])
def email_settings(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        services.email_kinds_set(user=request.user, kinds=set(request.POST.getlist("email")))
        messages.success(request, "Saved. You get the ticked kinds by email too.")
        return redirect("notifications:settings")
    chosen = selectors.email_kinds_for(user=request.user)
    groups = [(title, [(kind, kind in chosen) for kind in kinds]) for title, kinds in GROUPS]
    orders = [kind for kind in Kind if kind in MAILED_BY_ORDERS]
    return render(request, "notifications/settings.html", {"groups": groups, "order_kinds": orders})


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """Works without logging in: the signed token says whose email it stops.

    GET (a person following the email's link) asks to confirm with one button, since
    mail scanners fetch links; POST stops the emails. A mail client's one-click POST
    (RFC 8058) carries `List-Unsubscribe=One-Click` and no CSRF token, hence exempt:
    the token is the proof."""
    asked = unsubscribe_read(token)
    if asked is None:
        return render(request, "notifications/unsubscribe.html", {"invalid": True}, status=400)
    kind_label = Kind(asked.kind).label if asked.kind in Kind.values else ""
    context = {"token": token, "kind": asked.kind, "kind_label": kind_label, "all": ALL}
    if request.method == "GET":
        return render(request, "notifications/unsubscribe.html", context)
    done = services.unsubscribe(token=token, everything=request.POST.get("scope") == ALL)
    if done is None:
        return render(request, "notifications/unsubscribe.html", {"invalid": True}, status=400)
    _, stopped = done
    return render(request, "notifications/unsubscribe.html", {**context, "stopped": stopped})
