"""Closing an account: refused while the person still owes or is owed something
(privacy.selectors.deletion_blockers); otherwise their personal data is erased and the
account can no longer log in. Orders, reviews and chat stay, under a placeholder
handle, for the people on the other side and for the law."""

from django.db import transaction

from accounts.models import User
from accounts.settings_services import user_anonymise
from bazaar.errors import Conflict
from orders.checkout.services import buyer_personal_data_erase

from .selectors import deletion_blockers


def account_delete(*, user: User) -> User:
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        blockers = deletion_blockers(user=user)
        if blockers:
            raise Conflict(
                "Your account cannot be deleted yet: " + " ".join(b.text for b in blockers),
                code="deletion_blocked",
            )
        buyer_personal_data_erase(buyer=user)
        return user_anonymise(user=user)
