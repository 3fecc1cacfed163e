"""The payment gateway (its interface and the Stripe and test backends), gateway
events, payments, money going out, payout accounts and saved cards."""
