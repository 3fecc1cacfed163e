"""Who reaches the stewards' console pages: stewards and ops past the second step; a
signed-out visitor is sent to the admin's login, a steward not yet past the second step
to it, anyone else is told no (403) by the service's message."""

from collections.abc import Callable
from functools import wraps

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse

from accounts.second_factor_views import second_step_required
from governance.services import require_steward


def steward_page(doing: str) -> Callable:
    """Wrap a view for stewards only; `doing` finishes "Only stewards …"."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        checked = second_step_required(view)

        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                return staff_member_required(view)(request, *args, **kwargs)
            require_steward(request.user, doing)
            return checked(request, *args, **kwargs)

        return wrapper

    return decorate
