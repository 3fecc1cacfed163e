"""Each signed-in person sees times in their own zone (User.time_zone); everyone else
in UTC."""

import zoneinfo

from django.utils import timezone


class TimeZoneMiddleware:
    """Activates the viewer's zone for the request (templates render aware datetimes
    in it) and always sets or clears it, so no request inherits another's zone."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.time_zone != "UTC":
            try:
                timezone.activate(zoneinfo.ZoneInfo(user.time_zone))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
