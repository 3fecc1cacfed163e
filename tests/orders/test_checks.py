"""Payment deploy checks: production takes real money, or is a staging site that says so."""

import pytest
from django.test import override_settings

from orders.payments.checks import payments_take_real_money

LIVE = {"STRIPE_SECRET_KEY": "sk_live_abc", "STRIPE_WEBHOOK_SECRET": "whsec_abc"}
NO_KEYS = {"STRIPE_SECRET_KEY": "", "STRIPE_WEBHOOK_SECRET": ""}


def check_ids(**configured) -> list[str]:
    with override_settings(**configured):
        return [error.id for error in payments_take_real_money(None)]


@pytest.mark.parametrize(
    ("configured", "expected"),
    [
        ({"PAYMENT_GATEWAY": "stripe", **LIVE, "BAZAAR_STAGING": False}, []),
        ({"PAYMENT_GATEWAY": "test", **NO_KEYS, "BAZAAR_STAGING": False}, ["orders.E001"]),
        # A live key does not help while the test gateway is chosen.
        ({"PAYMENT_GATEWAY": "test", **LIVE, "BAZAAR_STAGING": False}, ["orders.E001"]),
        (
            {"PAYMENT_GATEWAY": "stripe", **LIVE, "STRIPE_SECRET_KEY": "sk_test_abc"},
            ["orders.E001"],
        ),
        ({"PAYMENT_GATEWAY": "stripe", **NO_KEYS, "BAZAAR_STAGING": False}, ["orders.E002"]),
        (
            {"PAYMENT_GATEWAY": "stripe", **LIVE, "STRIPE_WEBHOOK_SECRET": ""},
            ["orders.E002"],
        ),
        ({"PAYMENT_GATEWAY": "paypal", **LIVE, "BAZAAR_STAGING": False}, ["orders.E003"]),
        # A staging site takes play money, and only play money.
        ({"PAYMENT_GATEWAY": "test", **NO_KEYS, "BAZAAR_STAGING": True}, []),
        (
            {"PAYMENT_GATEWAY": "stripe", **LIVE, "STRIPE_SECRET_KEY": "sk_test_abc"}
            | {"BAZAAR_STAGING": True},
            [],
        ),
        ({"PAYMENT_GATEWAY": "stripe", **LIVE, "BAZAAR_STAGING": True}, ["orders.E004"]),
    ],
)
def test_payment_configurations(configured, expected):
    configured.setdefault("BAZAAR_STAGING", False)
    assert check_ids(**configured) == expected


def test_the_message_names_what_is_missing():
    configured = {**LIVE, "STRIPE_WEBHOOK_SECRET": "", "BAZAAR_STAGING": False}
    with override_settings(PAYMENT_GATEWAY="stripe", **configured):
        (error,) = payments_take_real_money(None)
    assert error.msg.startswith("Stripe takes payments but STRIPE_WEBHOOK_SECRET is not set")
    assert error.hint.startswith("Set STRIPE_WEBHOOK_SECRET from the Stripe dashboard")
