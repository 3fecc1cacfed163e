"""The cart and checkout: addresses, carts, stock holds, Checkout Sessions, and the
off-session charge for a won auction."""
