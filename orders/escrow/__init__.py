"""Orders after payment: shipping, escrow, release, refunds and disputes."""
