from django.contrib.auth.backends import ModelBackend
from django.db.models import Q

from .models import User


class HandleOrEmailBackend(ModelBackend):
    """Log in with either the public handle or the email address, any case."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None or password is None:
            return None
        user = User.objects.filter(Q(handle__iexact=username) | Q(email__iexact=username)).first()
        if user is None:
            User().set_password(password)  # same work either way: no timing oracle
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
