"""What happens in a stall that apps above stalls act on (the watchlist tells watchers
and followers). stalls sends each inside the transaction that made the change and names
no receiver, so it imports nothing above it; a receiver that does more than a quick read
queues its work after commit (as `watchlist.triggers` does), so a rolled-back change
tells nobody."""

from django.dispatch import Signal

# `stall`: the seller arrived and the stall was not live a moment ago (stalls.room.visitors).
seller_went_live = Signal()
# `item`: a new item is on the stall's table (stalls.services.item_create).
item_listed = Signal()
# `item`, `price_cents`: sent by stalls.services.item_update before the new price is set,
# so `item.price_cents` is still the old one.
item_price_changing = Signal()
