"""Demo sellers, stalls, items and photos for `seed_market`, made in bulk.

Photos are drawn with Pillow (no downloads): a patterned backdrop in the stall's
colours with the item's name, saved through default storage like real uploads.
"""

import functools
import io
import random
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from PIL import Image, ImageDraw, ImageFont

from bazaar.ids import new_ulid

from .markdown import render_markdown
from .models import Item, Photo, SellerProfile, Stall, StockEvent

ADJECTIVES = [
    "Amber",
    "Brass",
    "Cedar",
    "Copper",
    "Dusty",
    "Golden",
    "Indigo",
    "Jade",
    "Lucky",
    "Maple",
    "Olive",
    "Paper",
    "Rusty",
    "Saffron",
    "Velvet",
    "Willow",
]
NOUNS = [
    "Lantern",
    "Loom",
    "Attic",
    "Emporium",
    "Corner",
    "Trunk",
    "Bazaar",
    "Cabinet",
    "Crate",
    "Nook",
    "Market",
    "Caravan",
]
GOODS = [
    ("Brass oil lamp", 2400),
    ("Hand-thrown teapot", 3800),
    ("Vintage postcard set", 900),
    ("Wool scarf", 2200),
    ("Carved wooden spoon", 1200),
    ("Silver ring", 4500),
    ("Leather notebook", 2800),
    ("Vinyl record", 1800),
    ("Copper kettle", 5200),
    ("Woven basket", 1600),
    ("Glass marbles", 600),
    ("Old map print", 3200),
    ("Beeswax candles", 1100),
    ("Enamel mug", 1400),
    ("Linen tote", 1900),
    ("Pocket watch", 8900),
]


@dataclass(frozen=True)
class DemoStall:
    handle: str
    x: int
    y: int
    slot: int


@functools.cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def draw_photo(*, title: str, seed: str, size: tuple[int, int] = (480, 360)) -> Image.Image:
    """A recognisable, varied picture for a demo item: stripes, a shape, a label."""
    rng = random.Random(seed)
    hue = rng.randrange(360)
    image = Image.new("RGB", size, f"hsl({hue}, 55%, 82%)")
    draw = ImageDraw.Draw(image)
    width, height = size
    for stripe in range(0, width + height, 36):
        draw.line([(stripe, 0), (stripe - height, height)], fill=f"hsl({hue}, 50%, 76%)", width=14)
    colour = f"hsl({(hue + 180) % 360}, 60%, 45%)"
    box = [width * 0.3, height * 0.18, width * 0.7, height * 0.72]
    shape = rng.randrange(3)
    if shape == 0:
        draw.ellipse(box, fill=colour, outline="white", width=6)
    elif shape == 1:
        draw.rounded_rectangle(box, radius=28, fill=colour, outline="white", width=6)
    else:
        draw.polygon([(width * 0.5, box[1]), (box[2], box[3]), (box[0], box[3])], fill=colour)
    draw.rectangle([0, height - 62, width, height], fill=(43, 33, 24))
    draw.text((18, height - 48), title, fill="white", font=_font(30))
    return image


def _jpeg(image: Image.Image, longest_side: int) -> ContentFile:
    if max(image.size) > longest_side:
        scale = longest_side / max(image.size)
        image = image.resize(
            (round(image.width * scale), round(image.height * scale)), Image.Resampling.BILINEAR
        )
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return ContentFile(buffer.getvalue())


def _photo(*, stall: Stall, item: Item | None, title: str, seed: str, position: int) -> Photo:
    image = draw_photo(title=title, seed=seed)
    name = f"{new_ulid().lower()}.jpg"
    image_name = default_storage.save(f"photos/{name}", _jpeg(image, settings.PHOTO_SIZE))
    thumb_name = default_storage.save(f"thumbs/{name}", _jpeg(image, settings.PHOTO_THUMB_SIZE))
    return Photo(
        stall=stall,
        item=item,
        image=image_name,
        thumbnail=thumb_name,
        width=480,
        height=360,
        position=position,
    )


@transaction.atomic
def demo_stalls_create(
    *, users: dict, placements: list[DemoStall], section_ids: dict, items_per_stall: int = 3
) -> int:
    """Open a stall for each placement whose seller has none; returns how many."""
    have_stall = set(
        Stall.objects.filter(seller__user__handle__in=users).values_list(
            "seller__user__handle", flat=True
        )
    )
    taken = set(Stall.objects.values_list("section_id", "slot"))
    todo = [
        p
        for p in placements
        if p.handle not in have_stall and (section_ids[(p.x, p.y)], p.slot) not in taken
    ]
    if not todo:
        return 0
    SellerProfile.objects.bulk_create(
        [
            SellerProfile(
                user=users[p.handle],
                legal_name=f"Demo {p.handle}",
                country="US",
                kyc_status=SellerProfile.Kyc.APPROVED,
            )
            for p in todo
        ],
        ignore_conflicts=True,
    )
    sellers = {
        s.user.handle: s
        for s in SellerProfile.objects.filter(
            user__handle__in=[p.handle for p in todo]
        ).select_related("user")
    }
    stalls = []
    for p in todo:
        rng = random.Random(f"{p.x}/{p.y}/{p.slot}")
        name = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"
        description = (
            f"**{name}**: curios and keepsakes from section {p.x}/{p.y}.\n\n"
            "- Fair prices\n- Happy to haggle"
        )
        stalls.append(
            Stall(
                seller=sellers[p.handle],
                section_id=section_ids[(p.x, p.y)],
                slot=p.slot,
                name=name,
                description=description,
                description_html=render_markdown(description),
            )
        )
    Stall.objects.bulk_create(stalls)
    stalls = list(Stall.objects.filter(seller__in=sellers.values()))
    items = []
    for stall in stalls:
        rng = random.Random(stall.public_id)
        for title, price in rng.sample(GOODS, items_per_stall):
            items.append(
                Item(
                    stall=stall,
                    title=title,
                    description=f"A well-loved {title.lower()}.",
                    price_cents=price + rng.randrange(0, 400, 25),
                    currency=settings.MARKET_CURRENCY,
                    inventory=rng.randint(1, 4),
                )
            )
    Item.objects.bulk_create(items)
    items = list(Item.objects.filter(stall__in=stalls).select_related("stall"))
    StockEvent.objects.bulk_create(
        [
            StockEvent(
                item=item,
                kind=StockEvent.Kind.INVENTORY_SET,
                quantity=item.inventory,
                note="seeded",
            )
            for item in items
        ]
    )
    photos = [
        _photo(stall=item.stall, item=item, title=item.title, seed=item.public_id, position=0)
        for item in items
    ]
    Photo.objects.bulk_create(photos)
    return len(stalls)
