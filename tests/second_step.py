"""Two-step verification in tests: a person with a role signed in by a test is also
past the second step, as after typing their app's code. The tests of the step itself
(tests/accounts/test_second_factor.py) sign in through the pages instead."""

import time

from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY

from accounts.authenticator_keys import secret_new, secret_sealed
from accounts.models import AuthenticatorApp
from accounts.selectors import SECOND_STEP_PASSED_AT, SECOND_STEP_USED_AT


def second_step_device(user) -> AuthenticatorApp:
    """`user`'s authenticator app, set up if it is not yet."""
    device = AuthenticatorApp.objects.filter(user=user, confirmed=True).first()
    return device or AuthenticatorApp.objects.create(
        user=user,
        name="Test app",
        confirmed=True,
        key=secret_sealed(secret_new(), user_id=user.pk),
    )


def pass_second_step(session, user) -> None:
    """Mark a signed-in session (not yet saved, or saved again here) as past the step,
    just now."""
    session[DEVICE_ID_SESSION_KEY] = second_step_device(user).persistent_id
    session[SECOND_STEP_PASSED_AT] = session[SECOND_STEP_USED_AT] = time.time()
    session.save()


class SignedInClient(Client):
    """Django's test client whose `force_login` passes both steps for a role holder."""

    def force_login(self, user, backend=None):
        super().force_login(user, backend)
        if user.is_staff:
            pass_second_step(self.session, user)
