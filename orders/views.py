"""Cart, checkout, orders, payouts and the test gateway's pages. Thin: parse, call a
service, render."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.forms import model_to_dict
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reswap, retarget

from accounts.second_factor_views import second_step_on_demand
from bazaar.cache import page_reads, read_ahead
from bazaar.errors import DomainError, Invalid
from bazaar.idempotency import key_from_request
from stalls.selectors import item_available_quantity, item_get, stall_for_user

from .checkout import selectors as checkout_selectors
from .checkout import services as checkout_services
from .checkout.selectors import CART_PAGE, SESSION_CART, cart_for_request
from .escrow import disputes
from .escrow import selectors as escrow_selectors
from .escrow import services as escrow_services
from .forms import (
    DisputeAnswerForm,
    DisputeForm,
    ShipForm,
    ShippingAddressForm,
    ShippingCostForm,
)
from .payments import selectors as payments_selectors
from .payments import services as payments_services
from .payments.gateway import GatewayError
from .payments.services import PaymentUnavailable
from .payments.test_gateway import CARD_DECLINES_OFF_SESSION, TEST_CARDS, TestGateway
from .payments.webhooks import event_handle, stripe_event_verify


def _base_url(request: HttpRequest) -> str:
    return f"{request.scheme}://{request.get_host()}"


def _quantity(request: HttpRequest, default: int | None = None) -> int:
    try:
        return int(request.POST.get("quantity", default))
    except (TypeError, ValueError) as error:
        raise Invalid("Choose a quantity.") from error


def _test_mode() -> bool:
    return TestGateway.name == settings.PAYMENT_GATEWAY


# Cart


@require_GET
def cart(request: HttpRequest) -> HttpResponse:
    return _cart_page(request)


def _cart_page(request: HttpRequest, *, refusal: dict | None = None, status: int = 200):
    """The cart; `refusal` (item, message, the quantity typed) shows beside its line.
    The top bar's kept values, the buyer's accepted offers among them, are read ahead:
    the lines show those offers, so the page reads them once."""
    with read_ahead(page_reads(CART_PAGE, None, viewer=request.user)):
        plan = cart_for_request(request, shown=True)
        context = {"plan": plan, "test_mode": _test_mode(), "refusal": refusal}
        return render(request, "orders/cart.html", context, status=status)


def _cart_change(request: HttpRequest, *, item, quantity: int, add: bool) -> None:
    if request.user.is_authenticated:
        if add:
            checkout_services.cart_add(buyer=request.user, item=item, quantity=quantity)
        else:
            checkout_services.cart_set_quantity(buyer=request.user, item=item, quantity=quantity)
        return
    request.session[SESSION_CART] = checkout_services.session_cart_set(
        session_cart=request.session.get(SESSION_CART, {}), item=item, quantity=quantity, add=add
    )


@require_POST
def cart_add(request: HttpRequest) -> HttpResponse:
    item = item_get(public_id=request.POST.get("item", ""))
    try:
        _cart_change(request, item=item, quantity=_quantity(request, 1), add=True)
    except DomainError as error:
        if request.htmx:
            return _cart_button_refused(request, item, error)
        messages.error(request, error.message)
        return redirect("stalls:detail", item.stall.public_id)
    if request.htmx:
        return render(request, "orders/_cart_added.html", {"item": item})
    messages.success(request, f"“{item.title}” is in your cart.")
    return redirect("orders:cart")


def _cart_button(request: HttpRequest, item, *, error: DomainError | None = None, status=200):
    context = checkout_selectors.cart_button_context(
        user=request.user, item=item, available=item_available_quantity(item=item)
    )
    return render(request, "orders/_add_to_cart.html", {**context, "error": error}, status=status)


def _cart_button_refused(request: HttpRequest, item, error: DomainError) -> HttpResponse:
    """htmx: the whole cart button again (it may be sold out now), with the reason."""
    response = _cart_button(request, item, error=error, status=error.status)
    return reswap(retarget(response, "closest [data-cart-button]"), "outerHTML")


@require_GET
def cart_button(request: HttpRequest, item_id: str) -> HttpResponse:
    """The item's cart button as this viewer should see it now (the page asks after
    an offer of theirs on the item changed)."""
    return _cart_button(request, item_get(public_id=item_id))


@require_POST
def cart_update(request: HttpRequest, item_id: str) -> HttpResponse:
    """A line's new quantity, or its removal; a refusal shows the cart with the reason
    beside the line and the quantity as typed."""
    item = item_get(public_id=item_id)
    try:
        quantity = 0 if "remove" in request.POST else _quantity(request)
        _cart_change(request, item=item, quantity=quantity, add=False)
    except DomainError as error:
        typed = request.POST.get("quantity", "")
        refusal = {"item": item.public_id, "message": error.message, "quantity": typed}
        return _cart_page(request, refusal=refusal, status=error.status)
    return redirect("orders:cart")


# Checkout


@login_required
@require_GET
def checkout(request: HttpRequest) -> HttpResponse:
    plan = cart_for_request(request)
    if not plan.groups:
        messages.info(request, "Your cart is empty.")
        return redirect("orders:cart")
    address = checkout_selectors.shipping_address_for(buyer=request.user)
    return render(
        request,
        "orders/checkout.html",
        {
            "plan": plan,
            "address": address,
            "address_form": ShippingAddressForm(initial=_address_initial(address)),
            "test_mode": _test_mode(),
            "escrow_days": settings.ESCROW_RELEASE_DAYS,
        },
    )


def _address_initial(address) -> dict:
    return model_to_dict(address, fields=list(ShippingAddressForm.base_fields)) if address else {}


@login_required
@require_POST
def address_save(request: HttpRequest) -> HttpResponse:
    """Save the shipping address, from checkout or from the payments page."""
    form = ShippingAddressForm(request.POST)
    back = "orders:checkout" if request.POST.get("next") == "checkout" else "orders:account"
    if not form.is_valid():
        messages.error(request, "Fill in every line of the address marked as required.")
        return redirect(back)
    checkout_services.shipping_address_save(buyer=request.user, **form.cleaned_data)
    messages.success(request, "Shipping address saved.")
    return redirect(back)


@login_required
@require_POST
def checkout_pay(request: HttpRequest) -> HttpResponse:
    try:
        expected = int(request.POST.get("total_cents", ""))
    except ValueError as error:
        raise Invalid("Reload the checkout page and try again.") from error
    try:
        payment = checkout_services.checkout_start(
            buyer=request.user,
            idempotency_key=key_from_request(request),
            expected_total_cents=expected,
            urls=checkout_services.CheckoutUrls(base_url=_base_url(request)),
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("orders:checkout")
    if payment.status != payment.Status.OPEN:
        return redirect("orders:payment", payment.public_id)
    return redirect(payment.session_url)


@login_required
@require_POST
def checkout_release(request: HttpRequest, public_id: str) -> HttpResponse:
    """The buyer lets go of a checkout they left at the payment page (back to the
    cart or the checkout page, which `next` names)."""
    back = "orders:checkout" if request.POST.get("next") == "checkout" else "orders:cart"
    try:
        payment = checkout_services.checkout_release(buyer=request.user, public_id=public_id)
    except PaymentUnavailable as error:
        messages.error(request, error.message)
        return redirect(back)
    if payment.status == payment.Status.CANCELLED:
        messages.success(
            request, "Released: what that checkout held is back on sale. Your cart is as it was."
        )
        return redirect(back)
    if payment.status == payment.Status.PAID:
        messages.info(request, "That checkout is already paid: here is your order.")
    else:
        messages.info(request, "That checkout was paid; the payment is being confirmed.")
    return redirect("orders:payment", payment.public_id)


@login_required
@require_GET
def payment(request: HttpRequest, public_id: str) -> HttpResponse:
    """Where the gateway sends the buyer back: the payment and its orders."""
    found = payments_selectors.payment_for_buyer(buyer=request.user, public_id=public_id)
    orders = payments_selectors.orders_of_payment(payment=found)
    return render(request, "orders/payment.html", {"payment": found, "orders": orders})


# Orders


@login_required
@require_GET
def orders_bought(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "orders/order_list.html",
        {"orders": escrow_selectors.orders_for_buyer(buyer=request.user), "selling": False},
    )


@login_required
@require_GET
def orders_sold(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "orders/order_list.html",
        {"orders": escrow_selectors.orders_for_seller(user=request.user), "selling": True},
    )


@login_required
@require_GET
@second_step_on_demand
def order_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    order = escrow_selectors.order_for_viewer(
        user=request.user, public_id=public_id, session=request.session
    )
    context = _order_context(request, order)
    if context["view"].is_steward:
        escrow_services.order_read_by_steward(steward=request.user, order=order)
    return render(request, "orders/order_detail.html", context)


def _evidence_view(*, thumbnail: bool):
    """A dispute's screened photo, private: served only here (never from the media
    URL), to the order's buyer, seller and stewards past the second step; 404 to anyone
    else, signed in or not, and for a photo not screened yet."""

    @require_GET
    def view(request: HttpRequest, public_id: str, photo_id: str) -> HttpResponse:
        data = escrow_selectors.order_evidence_image(
            user=request.user,
            session=request.session,
            order_public_id=public_id,
            photo_public_id=photo_id,
            thumbnail=thumbnail,
        )
        response = HttpResponse(data, content_type="image/jpeg")
        response["Cache-Control"] = "private, no-store"
        return response

    return view


order_evidence = _evidence_view(thumbnail=False)
order_evidence_thumbnail = _evidence_view(thumbnail=True)


def _order_context(request: HttpRequest, order, **forms) -> dict:
    return {
        "view": escrow_selectors.order_view(user=request.user, order=order),
        "lines": order.lines.all(),
        "ship_form": forms.get("ship_form") or ShipForm(),
        "dispute_form": forms.get("dispute_form") or DisputeForm(),
        "answer_form": forms.get("answer_form") or DisputeAnswerForm(),
    }


def _order_action(form_class, action, done: str):
    """A view that runs one order action from its form (None: the action takes no
    fields); a refused one shows the order with the reason."""

    @login_required
    @require_POST
    def view(request: HttpRequest, public_id: str) -> HttpResponse:
        order = escrow_selectors.order_for_party(user=request.user, public_id=public_id)
        form = form_class(request.POST, request.FILES) if form_class else None
        if form is not None and not form.is_valid():
            context = _order_context(request, order, **{_form_name(form_class): form})
            return render(request, "orders/order_detail.html", context, status=400)
        try:
            action(
                actor=request.user,
                order=order,
                idempotency_key=key_from_request(request),
                **(form.cleaned_data if form else {}),
            )
        except DomainError as error:
            if error.status in (403, 404):
                raise
            messages.error(request, error.message)
        else:
            messages.success(request, done)
        return redirect("orders:detail", order.public_id)

    return view


def _form_name(form_class) -> str:
    return {
        ShipForm: "ship_form",
        DisputeForm: "dispute_form",
        DisputeAnswerForm: "answer_form",
    }[form_class]


order_ship = _order_action(
    ShipForm, escrow_services.order_ship, "Marked as shipped; the buyer is told."
)
order_received = _order_action(
    None, escrow_services.order_confirm_received, "Thank you! The seller is being paid."
)
order_dispute = _order_action(
    DisputeForm,
    escrow_services.order_dispute_open,
    "Dispute opened; a steward will look at it. The seller's payout is paused.",
)
order_dispute_answer = _order_action(
    DisputeAnswerForm,
    disputes.order_dispute_answer,
    "Your answer is on the timeline; a steward will decide.",
)
order_cancel = _order_action(
    None, escrow_services.order_cancel, "Order cancelled; the buyer is refunded."
)


# The buyer's payment settings: address and saved card


@login_required
@require_GET
def account(request: HttpRequest) -> HttpResponse:
    address = checkout_selectors.shipping_address_for(buyer=request.user)
    return render(
        request,
        "orders/account.html",
        {
            "address": address,
            "address_form": ShippingAddressForm(initial=_address_initial(address)),
            "card": payments_selectors.saved_card_for(buyer=request.user),
            "test_mode": _test_mode(),
        },
    )


@login_required
@require_POST
def card_setup(request: HttpRequest) -> HttpResponse:
    try:
        url = payments_services.card_setup_start(
            buyer=request.user,
            idempotency_key=key_from_request(request),
            base_url=_base_url(request),
        )
    except GatewayError as error:
        messages.error(request, f"The payment service did not answer: {error.message}")
        return redirect("orders:account")
    return redirect(url)


@login_required
@require_POST
def card_forget(request: HttpRequest) -> HttpResponse:
    payments_services.card_forget(buyer=request.user)
    messages.success(request, "Saved card removed.")
    return redirect("orders:account")


# The seller's payouts panel (loaded into the stall dashboard)


@login_required
@require_http_methods(["GET", "POST"])
def payouts_panel(request: HttpRequest) -> HttpResponse:
    stall = stall_for_user(user=request.user)
    if stall is None:
        return HttpResponse("")
    form = ShippingCostForm(request.POST or None)
    saved = False
    if request.method == "POST" and form.is_valid():
        escrow_services.stall_shipping_set(
            actor=request.user, stall=stall, cost_cents=form.cleaned_data["shipping"]
        )
        saved = True
        if not request.htmx:
            messages.success(request, "Shipping cost saved.")
            return redirect("stalls:dashboard")
    overview = payments_selectors.payout_overview(stall=stall)
    if not form.is_bound or saved:
        form = ShippingCostForm(initial={"shipping": overview.shipping_cents})
    return render(
        request,
        "orders/_payouts_panel.html",
        {"overview": overview, "form": form, "test_mode": _test_mode(), "saved": saved},
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def payouts_connect(request: HttpRequest) -> HttpResponse:
    """Off to Connect Express onboarding (GET too: Stripe sends sellers back here when
    a link has expired, for a fresh one)."""
    try:
        url = payments_services.payout_onboarding_link(
            user=request.user, base_url=_base_url(request)
        )
    except GatewayError as error:
        messages.error(request, f"The payment service did not answer: {error.message}")
        return redirect("stalls:dashboard")
    return redirect(url)


@login_required
@require_GET
def payouts_return(request: HttpRequest) -> HttpResponse:
    try:
        account = payments_services.payout_account_refresh(user=request.user)
    except GatewayError as error:
        messages.error(request, f"Could not check your payouts account: {error.message}")
        return redirect("stalls:dashboard")
    if account is not None and account.payouts_enabled:
        messages.success(request, "Payouts are connected: released orders are paid out to you.")
    else:
        messages.info(request, "Payouts are not enabled yet: finish the onboarding to be paid.")
    return redirect("stalls:dashboard")


# Stripe's webhooks


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    try:
        event = stripe_event_verify(
            payload=request.body, signature=request.headers.get("Stripe-Signature", "")
        )
    except Invalid as error:
        return HttpResponseBadRequest(error.message, content_type="text/plain")
    record = event_handle(event=event, gateway_name="stripe")
    return HttpResponse(record.outcome, content_type="text/plain")


# The test gateway's pages (test mode only: they act on the test gateway's objects)


@login_required
@require_http_methods(["GET", "POST"])
def test_gateway_session(request: HttpRequest, session_id: str) -> HttpResponse:
    """Stripe Checkout's stand-in: pay (or save a card) with a test card number."""
    session = payments_selectors.test_session_for_user(user=request.user, session_id=session_id)
    error, status = "", 200
    if request.method == "POST":
        try:
            event = TestGateway().session_complete(
                session_id=session_id, card_number=request.POST.get("card_number", "")
            )
        except GatewayError as declined:
            error, status = declined.message, 402
        else:
            event_handle(event=event, gateway_name=TestGateway.name)
            return redirect(session["success_url"])
    return render(
        request,
        "orders/test_gateway_session.html",
        {
            "session": session,
            "cards": TEST_CARDS,
            "declines_later": CARD_DECLINES_OFF_SESSION,
            "error": error,
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def test_gateway_onboarding(request: HttpRequest, account_id: str) -> HttpResponse:
    """Connect Express onboarding's stand-in: one button makes the account payable."""
    account = payments_selectors.test_account_for_user(user=request.user, account_id=account_id)
    if request.method == "POST":
        event = TestGateway().onboarding_complete(account_id=account_id)
        event_handle(event=event, gateway_name=TestGateway.name)
        return redirect("orders:payouts_return")
    return render(request, "orders/test_gateway_onboarding.html", {"account": account})
