"""Anonymous visitors get a random id in a signed cookie, never the session key."""

from django.conf import settings

from .ids import new_ulid

_SALT = "bazaar.visitor"
_ONE_YEAR = 365 * 24 * 3600


class VisitorIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        visitor_id = request.get_signed_cookie(settings.VISITOR_COOKIE, default=None, salt=_SALT)
        is_new = visitor_id is None
        request.visitor_id = visitor_id or new_ulid()
        response = self.get_response(request)
        if is_new:
            response.set_signed_cookie(
                settings.VISITOR_COOKIE,
                request.visitor_id,
                salt=_SALT,
                max_age=_ONE_YEAR,
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response
