"""Writes for auctions, one concern a module: `lifecycle` (the status machine and
saving), `starting`, `bidding`, `charging`, `second_chance` and `closing`.

Every change to an auction happens under its row lock (`auctions.locks`), in one
transaction with an audit row, and is published after commit. Stock moves only
through stalls' reservation services; a change that may move it locks the item
first, then the auction. The winner is charged through
`orders.checkout.services.order_create_for_auction` with no lock held; its reference makes a
repeated charge nothing.
"""
