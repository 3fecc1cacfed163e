"""Stall pages and the seller's dashboard. Thin: parse, call a service, render."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from analytics.models import Kind
from analytics.recording import record_visit
from bazaar.cache import page_reads, read_ahead, writes_with_next_read
from bazaar.errors import DomainError, NotFound

from . import services
from .cards import GALLERY_SIZE, STALL_PAGE, stall_cards_and_gallery
from .forms import BecomeSellerForm, ItemForm, PhotoForm, StallForm
from .images import ImageRefused, process_upload, too_big_message
from .models import Photo
from .selectors import (
    free_slots,
    item_available_quantity,
    item_get,
    items_with_availability,
    section_at,
    seller_profile_for_user,
    stall_for_user,
    stall_get,
    uploads_pending_for,
)
from .uploads import upload_receive


@require_GET
def stall_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    stall = stall_get(public_id=public_id)
    # The cards, the stage's overlays, the show, the Follow count and the rating: one
    # cache round trip for what several apps' fragments read (bazaar.cache.read_ahead),
    # with the visit's push.
    with writes_with_next_read():
        record_visit(request, Kind.STALL_VIEWED, stall=stall)
        with read_ahead(page_reads(STALL_PAGE, stall, viewer=request.user)):
            return _stall_page(request, stall)


def _stall_page(request: HttpRequest, stall) -> HttpResponse:
    items, photos = stall_cards_and_gallery(stall=stall, size=GALLERY_SIZE)
    share_image = photos[0] if photos else None
    return render(
        request,
        "stalls/detail.html",
        {
            "stall": stall,
            "items": items,
            "photos": photos,
            "share_image_url": request.build_absolute_uri(share_image.image.url)
            if share_image
            else "",
            "can_edit": stall.seller.user_id == request.user.pk,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def become_seller(request: HttpRequest) -> HttpResponse:
    if seller_profile_for_user(user=request.user) is not None:
        return redirect("stalls:dashboard")
    form = BecomeSellerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.seller_register(user=request.user, **form.cleaned_data)
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, "You are a seller now. Open your stall below.")
            return redirect("stalls:dashboard")
    return render(request, "stalls/become_seller.html", {"form": form})


def _photo_form() -> dict:
    """What a photo form needs beside its fields: with S3 configured it uploads straight
    to the bucket (see uploads.py); its script refuses a file over the limit at once."""
    return {
        "presign_url": reverse("stalls:photo_presign") if settings.AWS_STORAGE_BUCKET_NAME else "",
        "photo_max_bytes": settings.PHOTO_MAX_UPLOAD_BYTES,
        "photo_too_big": too_big_message(),
    }


def _seller_or_redirect(request):
    seller = seller_profile_for_user(user=request.user)
    if seller is None:
        messages.info(request, "Tell us who you are first; then you can open a stall.")
    return seller


def _stall_form_initial(stall):
    if stall is None:
        return {"section_x": 0, "section_y": 0}
    return {
        "name": stall.name,
        "description": stall.description,
        "section_x": stall.section.x,
        "section_y": stall.section.y,
        "slot": stall.slot,
    }


@login_required
@require_http_methods(["GET", "POST"])
def dashboard(request: HttpRequest) -> HttpResponse:
    """Create or edit the seller's stall; list its items and photos."""
    if _seller_or_redirect(request) is None:
        return redirect("stalls:become_seller")
    stall = stall_for_user(user=request.user)
    form = StallForm(request.POST or None, initial=_stall_form_initial(stall))
    if request.method == "POST" and form.is_valid():
        try:
            if stall is None:
                services.stall_create(user=request.user, **form.cleaned_data)
                messages.success(request, "Your stall is open.")
            else:
                services.stall_update(actor=request.user, stall=stall, **form.cleaned_data)
                messages.success(request, "Stall saved.")
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            return redirect("stalls:dashboard")
    context = {
        "stall": stall,
        "form": form,
        "item_form": ItemForm(),
        **_photo_form(),
    }
    if stall is not None:
        items = list(items_with_availability(stall=stall))
        for item in items:
            item.available = max(item.inventory - item.reserved, 0)
        context["items"] = items
        context["stall_photos"] = [p for p in stall.photos.all() if p.item_id is None]
        context["pending_uploads"] = [
            upload for upload in uploads_pending_for(stall=stall) if upload.item_id is None
        ]
    return render(request, "dashboard/stall.html", context)


@login_required
@require_GET
def slot_options(request: HttpRequest) -> HttpResponse:
    """HTMX: the free slots of the section typed in the stall form."""
    try:
        section = section_at(x=int(request.GET["section_x"]), y=int(request.GET["section_y"]))
    except (KeyError, ValueError):
        section = None
    stall = stall_for_user(user=request.user)
    slots = free_slots(section_id=section.pk, keep_stall=stall) if section else []
    current = stall.slot if stall and section and stall.section_id == section.pk else None
    return render(
        request,
        "dashboard/_slot_options.html",
        {"section": section, "slots": [(s, f"Slot {s + 1}") for s in slots], "current": current},
    )


@login_required
@require_POST
def item_create(request: HttpRequest) -> HttpResponse:
    stall = stall_for_user(user=request.user)
    if stall is None:
        raise NotFound("Open your stall before adding items.")
    form = ItemForm(request.POST)
    if form.is_valid():
        try:
            item = services.item_create(
                actor=request.user,
                stall=stall,
                currency=settings.MARKET_CURRENCY,
                **form.item_fields(),
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"“{item.title}” is on sale. Add photos below.")
            return redirect("stalls:item_edit", item.public_id)
    return render(
        request, "dashboard/item_new.html", {"stall": stall, "item_form": form}, status=400
    )


@login_required
@require_http_methods(["GET", "POST"])
def item_edit(request: HttpRequest, public_id: str) -> HttpResponse:
    item = item_get(public_id=public_id)
    initial = {
        "title": item.title,
        "description": item.description,
        "price": item.price_cents,
        "inventory": item.inventory,
        "category": item.category,
        "condition": item.condition,
        "brand": item.brand,
        "size": item.size,
    }
    form = ItemForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.item_update(
                actor=request.user, item=item, currency=item.currency, **form.item_fields()
            )
        except DomainError as error:
            if error.status == 403:
                raise
            form.add_error(None, error.message)
        else:
            messages.success(request, "Item saved.")
            return redirect("stalls:dashboard")
    elif request.method == "GET" and item.stall.seller.user_id != request.user.pk:
        services.require_stall_editor(actor=request.user, stall=item.stall)
    return render(
        request,
        "dashboard/item_edit.html",
        {
            "item": item,
            "form": form,
            "photos": item.photos.all(),
            "pending_uploads": [
                upload
                for upload in uploads_pending_for(stall=item.stall)
                if upload.item_id == item.pk
            ],
            **_photo_form(),
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def item_delete(request: HttpRequest, public_id: str) -> HttpResponse:
    item = item_get(public_id=public_id)
    outcome = services.item_delete(actor=request.user, item=item)
    messages.success(
        request,
        f"“{item.title}” was deleted."
        if outcome == "deleted"
        else f"“{item.title}” has history, so it was archived instead of deleted.",
    )
    return redirect("stalls:dashboard")


def _upload_answer(
    request: HttpRequest, item, *, refused: str = "", status: int = 400, upload=None
):
    """photo-upload.js asks for JSON and says the outcome beside the form, then polls
    the upload's status until its screening is done; a plain form post goes back to
    its page with the outcome as a message (the page lists photos being checked)."""
    if "application/json" in request.headers.get("Accept", ""):
        if refused:
            return JsonResponse({"error": refused}, status=status)
        status_url = reverse("stalls:photo_upload_status", args=[upload.public_id])
        answer = {"upload_id": upload.public_id, "status": upload.status, "status_url": status_url}
        return JsonResponse(answer, status=202)
    if refused:
        messages.error(request, refused)
    else:
        messages.success(request, "Photo received: it shows once it has been checked.")
    return redirect("stalls:item_edit", item.public_id) if item else redirect("stalls:dashboard")


@login_required
@require_POST
def photo_upload(request: HttpRequest) -> HttpResponse:
    """A photo of the stall, or of an item when `item` names one: checked now, then
    screened in the background before it is shown."""
    item = item_get(public_id=request.POST["item"]) if request.POST.get("item") else None
    stall = item.stall if item else stall_for_user(user=request.user)
    if stall is None:
        raise NotFound("Open your stall before adding photos.")
    services.require_stall_editor(actor=request.user, stall=stall)
    form = PhotoForm(request.POST, request.FILES)
    if not form.is_valid():
        return _upload_answer(request, item, refused="Choose an image file to upload.")
    try:
        processed = process_upload(form.cleaned_data["image"])
        upload = upload_receive(actor=request.user, stall=stall, item=item, processed=processed)
    except ImageRefused as error:
        return _upload_answer(request, item, refused=error.message)
    except DomainError as error:
        return _upload_answer(request, item, refused=error.message, status=error.status)
    return _upload_answer(request, item, upload=upload)


@login_required
@require_POST
def photo_delete(request: HttpRequest, public_id: str) -> HttpResponse:
    photo = (
        Photo.objects.select_related("stall__seller", "stall__section", "item")
        .filter(public_id=public_id)
        .first()
    )
    if photo is None:
        raise NotFound("That photo is already gone.")
    services.photo_delete(actor=request.user, photo=photo)
    messages.success(request, "Photo removed.")
    if photo.item is not None:
        return redirect("stalls:item_edit", photo.item.public_id)
    return redirect("stalls:dashboard")


@require_GET
def item_drawer(request: HttpRequest, public_id: str, item_id: str) -> HttpResponse:
    """HTMX: an item's details in the stall page's drawer."""
    item = item_get(public_id=item_id)
    if item.stall.public_id != public_id:
        raise NotFound("That item is not in this stall.")
    record_visit(request, Kind.ITEM_VIEWED, stall=item.stall, item=item)
    return render(
        request,
        "stalls/_item_drawer.html",
        {
            "item": item,
            "available": item_available_quantity(item=item),
            "photos": item.photos.all(),
        },
    )
