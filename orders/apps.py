from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in
        from django.db.models.signals import post_delete, post_save

        from .models import CartLine
        from .payments import checks  # noqa: F401 - registers the payment deploy checks

        user_logged_in.connect(merge_guest_cart, dispatch_uid="orders.merge_guest_cart")
        post_save.connect(cart_line_changed, sender=CartLine, dispatch_uid="orders.cart_line_saved")
        post_delete.connect(
            cart_line_changed, sender=CartLine, dispatch_uid="orders.cart_line_deleted"
        )


def cart_line_changed(sender, instance, **kwargs) -> None:
    """After commit, the buyer's kept cart count is stale. A model signal rather than
    the services' calls, so that a cascade (an item deleted from a cart) counts too."""
    from bazaar.cache import changed_on_commit

    from .checkout.selectors import cart_scope

    changed_on_commit(cart_scope(instance.buyer_id))


def merge_guest_cart(sender, request, user, **kwargs) -> None:
    """At login, the cart a guest filled in this session joins the buyer's cart."""
    if request is None or not hasattr(request, "session"):
        return
    from .checkout.selectors import SESSION_CART
    from .checkout.services import cart_merge

    session_cart = request.session.pop(SESSION_CART, None)
    if session_cart:
        cart_merge(buyer=user, session_cart=session_cart)
