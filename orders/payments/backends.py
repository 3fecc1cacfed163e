"""Which payment gateway backend a name means."""

from django.conf import settings

from .gateway import GatewayError, PaymentGateway
from .stripe_gateway import StripeGateway
from .test_gateway import TestGateway


def gateway_named(name: str) -> PaymentGateway:
    """The gateway a payment or account was made with (they outlive a settings change)."""
    if name == StripeGateway.name:
        return StripeGateway.from_settings()
    if name == TestGateway.name:
        return TestGateway()
    raise GatewayError(f"Unknown payment gateway {name!r}.")


def current_gateway() -> PaymentGateway:
    return gateway_named(settings.PAYMENT_GATEWAY)
