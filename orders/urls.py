from django.urls import path

from . import views

app_name = "orders"

urlpatterns = [
    path("cart/", views.cart, name="cart"),
    path("cart/add/", views.cart_add, name="cart_add"),
    path("cart/items/<ulid:item_id>/", views.cart_update, name="cart_update"),
    path("cart/items/<ulid:item_id>/button/", views.cart_button, name="cart_button"),
    path("checkout/", views.checkout, name="checkout"),
    path("checkout/pay/", views.checkout_pay, name="checkout_pay"),
    path("checkout/address/", views.address_save, name="address_save"),
    path("checkout/<ulid:public_id>/release/", views.checkout_release, name="checkout_release"),
    path("payments/<ulid:public_id>/", views.payment, name="payment"),
    path("orders/", views.orders_bought, name="list"),
    path("orders/selling/", views.orders_sold, name="selling"),
    path("orders/<ulid:public_id>/", views.order_detail, name="detail"),
    path("orders/<ulid:public_id>/ship/", views.order_ship, name="ship"),
    path("orders/<ulid:public_id>/received/", views.order_received, name="received"),
    path("orders/<ulid:public_id>/dispute/", views.order_dispute, name="dispute"),
    path(
        "orders/<ulid:public_id>/dispute/answer/", views.order_dispute_answer, name="dispute_answer"
    ),
    path("orders/<ulid:public_id>/cancel/", views.order_cancel, name="cancel"),
    path(
        "orders/<ulid:public_id>/evidence/<ulid:photo_id>/", views.order_evidence, name="evidence"
    ),
    path(
        "orders/<ulid:public_id>/evidence/<ulid:photo_id>/thumbnail/",
        views.order_evidence_thumbnail,
        name="evidence_thumbnail",
    ),
    path("account/payments/", views.account, name="account"),
    path("account/payments/card/", views.card_setup, name="card_setup"),
    path("account/payments/card/forget/", views.card_forget, name="card_forget"),
    path("dashboard/stall/payouts/", views.payouts_panel, name="payouts"),
    path("dashboard/stall/payouts/connect/", views.payouts_connect, name="payouts_connect"),
    path("dashboard/stall/payouts/return/", views.payouts_return, name="payouts_return"),
    path("webhooks/stripe/", views.stripe_webhook, name="stripe_webhook"),
    path(
        "test-gateway/sessions/<str:session_id>/",
        views.test_gateway_session,
        name="test_gateway_session",
    ),
    path(
        "test-gateway/accounts/<str:account_id>/",
        views.test_gateway_onboarding,
        name="test_gateway_onboarding",
    ),
]
