from django.contrib.auth.backends import ModelBackend
from django.db.models import Q

from bazaar.prepared import Prepared

from .models import User

# Every signed-in request reads its user: compiled once (`bazaar.prepared`), as
# Django's compiler cost more than PostgreSQL's answer (docs/decisions.md, pages5).
_USER_BY_ID = Prepared(lambda user_id: User._default_manager.filter(pk=user_id))


def _account_named(name: str) -> User | None:
    return User.objects.filter(Q(handle__iexact=name) | Q(email__iexact=name)).first()


def lockout_name(request, credentials: dict | None) -> str:
    """Whose failures django-axes counts: the account the name points to, however it
    was typed (handle or email, any case), so that switching between them does not
    buy more tries; a name matching no account counts as typed, lower-cased."""
    typed = ((credentials or {}).get("username") or request.POST.get("username") or "").strip()
    # As long as a name can be (and axes can store), and without what PostgreSQL refuses.
    typed = typed.replace("\x00", "")[: User._meta.get_field("email").max_length]
    # Asked several times a log-in (the account's slowdown, then axes's checks and
    # records): the account is looked up once a request.
    named = request.__dict__.setdefault("_lockout_names", {})
    if typed not in named:
        account = _account_named(typed) if typed else None
        named[typed] = f"account:{account.pk}" if account else typed.lower()
    return named[typed]


class HandleOrEmailBackend(ModelBackend):
    """Log in with either the public handle or the email address, any case."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None or password is None:
            return None
        user = _account_named(username)
        if user is None:
            User().set_password(password)  # same work either way: no timing oracle
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def get_user(self, user_id):
        """The session's user, as Django's backend reads it (none if inactive)."""
        if type(user_id) is not int:
            return super().get_user(user_id)
        user = _USER_BY_ID.first(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None
