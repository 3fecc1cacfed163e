"""Deploy checks for payments: production takes real money or says it takes none.

The local test gateway accepts Stripe's test card numbers and moves no money; a
deployment that used it by accident would let buyers "pay" with 4242… while sellers
ship. It is allowed only on a site declared a staging site (`BAZAAR_STAGING=1`), which
says so on every page. See docs/security.md.
"""

from django.conf import settings
from django.core.checks import Error, Tags, register

from .stripe_gateway import StripeGateway
from .test_gateway import TestGateway

STRIPE_TEST_KEY_PREFIXES = ("sk_test_", "rk_test_")


def _stripe_test_key() -> bool:
    return settings.STRIPE_SECRET_KEY.startswith(STRIPE_TEST_KEY_PREFIXES)


@register(Tags.compatibility, deploy=True)
def payments_take_real_money(app_configs, **kwargs) -> list[Error]:
    gateway = settings.PAYMENT_GATEWAY
    staging = settings.BAZAAR_STAGING
    if gateway not in (StripeGateway.name, TestGateway.name):
        return [
            Error(
                f"PAYMENT_GATEWAY={gateway!r} is not a payment gateway.",
                hint="Set PAYMENT_GATEWAY=stripe (or, on a staging site, PAYMENT_GATEWAY=test "
                "with BAZAAR_STAGING=1).",
                id="orders.E003",
            )
        ]
    errors = []
    play_money = gateway == TestGateway.name or _stripe_test_key()
    if play_money and not staging:
        errors.append(
            Error(
                "Payments would take play money: "
                + (
                    "the local test gateway is in use (STRIPE_SECRET_KEY is not set, or "
                    "PAYMENT_GATEWAY=test)."
                    if gateway == TestGateway.name
                    else "STRIPE_SECRET_KEY is a Stripe test key."
                ),
                hint="Set STRIPE_SECRET_KEY to a live key and STRIPE_WEBHOOK_SECRET. For a "
                "staging site that must not take real money, set BAZAAR_STAGING=1 (every "
                "page then says so).",
                id="orders.E001",
            )
        )
    if gateway == StripeGateway.name:
        missing = [
            name
            for name in ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET")
            if not getattr(settings, name)
        ]
        if missing:
            errors.append(
                Error(
                    f"Stripe takes payments but {' and '.join(missing)} "
                    f"{'is' if len(missing) == 1 else 'are'} not set: without the webhook "
                    "secret, money would arrive and the market would never hear of it.",
                    hint=f"Set {' and '.join(missing)} from the Stripe dashboard "
                    "(Developers > API keys; the webhook endpoint for /webhooks/stripe/).",
                    id="orders.E002",
                )
            )
        if staging and settings.STRIPE_SECRET_KEY and not _stripe_test_key():
            errors.append(
                Error(
                    "A staging site (BAZAAR_STAGING=1) has a live STRIPE_SECRET_KEY: it would "
                    "take real money under a banner saying it takes none.",
                    hint="Use a Stripe test key (sk_test_…) or PAYMENT_GATEWAY=test on staging, "
                    "or unset BAZAAR_STAGING.",
                    id="orders.E004",
                )
            )
    return errors
