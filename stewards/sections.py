"""`/admin/sections/`: the market's sections and their nine slots, where a steward
drags a stall to a free slot or onto another stall (or, by keyboard and without
JavaScript, chooses "Move…" on a stall and then a target button)."""

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from bazaar.errors import DomainError, Invalid
from market.selectors import market_layout
from stalls.models import SLOTS_PER_SECTION
from stalls.moves import Place, stall_move
from stalls.selectors import stalls_by_place

from .access import steward_page


def _rows() -> list[list[dict]]:
    """The map: rows of sections (y downward), each with its nine slots."""
    layout = market_layout()
    stalls = stalls_by_place()
    min_x, min_y, max_x, max_y = layout.bounds
    rows = []
    for y in range(min_y, max_y + 1):
        row = []
        for x in range(min_x, max_x + 1):
            if not layout.contains(x, y):
                continue
            slots = [
                {"slot": slot, "number": slot + 1, "stall": stalls.get((x, y, slot))}
                for slot in range(SLOTS_PER_SECTION)
            ]
            row.append({"x": x, "y": y, "slots": slots})
        rows.append(row)
    return rows


def _moving(public_id: str) -> dict | None:
    for (x, y, slot), stall in stalls_by_place().items():
        if stall.public_id == public_id:
            return {"stall": stall, "x": x, "y": y, "slot": slot, "number": slot + 1}
    return None


def _render(request: HttpRequest, *, moving_id: str, error=None, reason: str = ""):
    moving = _moving(moving_id) if moving_id else None
    context = {
        **admin.site.each_context(request),
        "title": "Sections and stalls",
        "rows": _rows(),
        "moving": moving,
        "error": error,
        "reason": reason,
        "move_url": reverse("stewards:stall_move"),
    }
    status = error.status if error else 200
    return TemplateResponse(request, "stewards/sections.html", context, status=status)


@require_GET
@steward_page("can move stalls")
def sections_map(request: HttpRequest) -> HttpResponse:
    return _render(request, moving_id=request.GET.get("move", ""))


def _place(raw: str, what: str) -> tuple[Place, str]:
    """ "x,y,slot" (and, for a target, ",occupant") from the form."""
    parts = raw.split(",")
    try:
        place = Place(int(parts[0]), int(parts[1]), int(parts[2]))
    except (ValueError, IndexError) as error:
        raise Invalid(f"Choose the {what} on the map.") from error
    return place, parts[3] if len(parts) > 3 else ""


@require_POST
@steward_page("can move stalls")
def stall_move_view(request: HttpRequest) -> HttpResponse:
    stall_id = request.POST.get("stall", "")
    reason = request.POST.get("reason", "")
    try:
        origin, _ = _place(request.POST.get("origin", ""), "stall to move")
        target, occupant = _place(request.POST.get("target", ""), "slot to move it to")
        result = stall_move(
            actor=request.user,
            stall_public_id=stall_id,
            origin=origin,
            target=target,
            expected_occupant=occupant,
            reason=reason,
        )
    except DomainError as error:
        keep = stall_id if error.status == 400 else ""
        return _render(request, moving_id=keep, error=error, reason=reason)
    if result.swapped_with is not None:
        text = (
            f"Swapped “{result.stall.name}” (now {result.target}) with "
            f"“{result.swapped_with.name}” (now {result.origin}). Both sellers were told."
        )
    else:
        text = (
            f"Moved “{result.stall.name}” from {result.origin} to {result.target}. "
            "The seller was told."
        )
    messages.success(request, text)
    anchor = f"#section-{result.target.x}-{result.target.y}"
    return redirect(reverse("stewards:sections") + anchor)
