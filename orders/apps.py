from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from .payments import checks  # noqa: F401 - registers the payment deploy checks

        user_logged_in.connect(merge_guest_cart, dispatch_uid="orders.merge_guest_cart")


def merge_guest_cart(sender, request, user, **kwargs) -> None:
    """At login, the cart a guest filled in this session joins the buyer's cart."""
    if request is None or not hasattr(request, "session"):
        return
    from .checkout.selectors import SESSION_CART
    from .checkout.services import cart_merge

    session_cart = request.session.pop(SESSION_CART, None)
    if session_cart:
        cart_merge(buyer=user, session_cart=session_cart)
