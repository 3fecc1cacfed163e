"""Demo sellers, stalls, items and photos for `seed_market`, made in bulk.

Each stall gets a theme from `demo_catalogue` (a record stall, a lamp stall, a
vintage clothes rail...), a name and pitch to match, items drawn from the theme's
goods with plausible titles, prices, conditions, brands and sizes, and photos
composed by `demo_photos`: one of the stall from the aisle, one of each item, and a
close-up of the demo seller's. Every choice comes from a seed made of the stall's
place, so the same market comes out each time.
"""

import random
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from accounts.seeding import DEMO_EMAIL_DOMAIN
from bazaar.ids import new_ulid

from .demo_catalogue import Good, Theme, catalogue
from .demo_photos import PHOTO_SIZE, PhotoJob, render_many
from .demo_surfaces import AWNINGS
from .markdown import render_markdown
from .models import Condition, Item, Photo, Reservation, SellerProfile, Stall, StockEvent
from .selectors import active_reservations

# The demo seller's stall shows more: it is the first stall a newcomer opens.
DEMO_SELLER = "demo_seller"
DEMO_SELLER_ITEMS = 8
# Flea-market prices are round numbers.
PRICE_STEPS = (
    [p * 100 for p in range(1, 10)]
    + [p * 100 for p in range(10, 40, 2)]
    + [p * 100 for p in range(40, 100, 5)]
    + [p * 100 for p in range(100, 1000, 10)]
)
# How often each condition turns up at a flea market, and what a seller says of it.
CONDITIONS = (
    (Condition.GOOD, 48, "Light signs of use, works as it should."),
    (Condition.FAIR, 30, "Well used: a few scratches and scuffs."),
    (Condition.LIKE_NEW, 12, "Barely used, no marks."),
    (Condition.NEW, 5, "Never used."),
    (Condition.FOR_PARTS, 5, "Sold as seen, for repair or display."),
)


@dataclass(frozen=True)
class DemoStall:
    handle: str
    x: int
    y: int
    slot: int


def _theme_for(placement: DemoStall) -> Theme:
    """The demo seller's curiosities, or a theme no other stall in the section has:
    each section's slots take the themes in an order shuffled for that section."""
    if placement.handle == DEMO_SELLER:
        return catalogue().curios
    themes = list(catalogue().themes)
    random.Random(f"themes/{placement.x}/{placement.y}").shuffle(themes)
    return themes[placement.slot % len(themes)]


def _stall_text(rng: random.Random, theme: Theme, taken: set[str]) -> tuple[str, str]:
    """A name, and a Markdown pitch. Neither the name nor the first name in it (as in
    "Marta's Records") is used twice in a section: `taken` holds both."""
    owners = [owner for owner in catalogue().owners if owner not in taken]
    for _ in range(8):
        owner = rng.choice(owners)
        name = rng.choice(theme.names).format(owner=owner)
        if name not in taken:
            break
    if owner in name:
        taken.add(owner)
    taken.add(name)
    bullets = rng.sample(catalogue().bullets, 2)
    return name, f"{rng.choice(theme.pitches)}\n\n- {bullets[0]}\n- {bullets[1]}"


def price_for(rng: random.Random, good: Good) -> int:
    low, high = good.cents
    steps = [price for price in PRICE_STEPS if low <= price <= high] or [low]
    # Cheap things are more common than dear ones, at a market as anywhere.
    return steps[min(int(rng.random() ** 1.6 * len(steps)), len(steps) - 1)]


def _item(rng: random.Random, stall: Stall, good: Good) -> Item:
    condition, _, remark = rng.choices(CONDITIONS, weights=[row[1] for row in CONDITIONS])[0]
    sign_off = rng.choice((*catalogue().sign_offs, ""))
    description = " ".join(part for part in (rng.choice(good.notes), remark, sign_off) if part)
    return Item(
        stall=stall,
        title=rng.choice(good.titles),
        description=description,
        price_cents=price_for(rng, good),
        currency=settings.MARKET_CURRENCY,
        inventory=1 if rng.random() < 0.75 else rng.randint(2, 4),
        category=good.category,
        condition=condition,
        # Most sellers name the maker when they know it; a size wherever one applies.
        brand=rng.choice(good.brands) if good.brands and rng.random() < 0.7 else "",
        size=rng.choice(good.sizes) if good.sizes else "",
    )


def _goods_for(rng: random.Random, theme: Theme, count: int) -> list[Good]:
    """Different goods while the theme has enough, then repeats."""
    goods = rng.sample(theme.goods, min(count, len(theme.goods)))
    return goods + rng.choices(theme.goods, k=count - len(goods))


def _media_folder() -> str | None:
    """Where local storage keeps files, so the photo workers can write them there;
    None for remote storage (S3), where each photo is saved through the storage."""
    try:
        return default_storage.path("")
    except NotImplementedError:
        return None


def _photos(stalls: list[Stall], items: list[tuple[Item, Good]], themes: dict) -> list[Photo]:
    """A photo of each stall from the aisle and one of each item; the demo seller's
    items, which every newcomer sees first, have a close-up too."""
    owners, jobs = {}, []

    def add(stall: Stall, item: Item | None, position: int, **job) -> None:
        name = f"{new_ulid().lower()}.jpg"
        owners[name] = (stall, item, position)
        jobs.append(PhotoJob(name=name, **job))

    for stall in stalls:
        theme = themes[stall.pk]
        rng = random.Random(f"stall-photo/{stall.public_id}")
        surface = rng.choice(theme.surfaces)
        add(
            stall,
            None,
            0,
            slugs=tuple(good.art for good in _goods_for(rng, theme, 9)),
            # A stall's table is covered, even where its things stand on the ground.
            surface="blanket" if surface == "pavement" else surface,
            seed=stall.public_id,
            awning=rng.randrange(len(AWNINGS)),
            sign=stall.name,
        )
    for item, good in items:
        rng = random.Random(f"item-photo/{item.public_id}")
        surface = rng.choice(themes[item.stall_id].surfaces)
        add(item.stall, item, 0, slugs=(good.art,), surface=surface, seed=item.public_id)
        if item.stall.seller.user.handle == DEMO_SELLER:
            seed = f"{item.public_id}/2"
            add(item.stall, item, 1, slugs=(good.art,), surface=surface, seed=seed, close_up=True)
    photos = []
    for job, made in render_many(jobs, folder=_media_folder()):
        image, thumbnail = f"photos/{job.name}", f"thumbs/{job.name}"
        if made is not None:
            image = default_storage.save(image, ContentFile(made[0]))
            thumbnail = default_storage.save(thumbnail, ContentFile(made[1]))
        stall, item, position = owners[job.name]
        photos.append(
            Photo(
                stall=stall,
                item=item,
                image=image,
                thumbnail=thumbnail,
                width=PHOTO_SIZE[0],
                height=PHOTO_SIZE[1],
                position=position,
            )
        )
    # Stall photos first: a card shows its stall's photos in the order they were added.
    return sorted(photos, key=lambda photo: photo.item is not None)


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
    names_in_section = {}
    for section_id, name in Stall.objects.filter(
        section_id__in={section_ids[(p.x, p.y)] for p in todo}
    ).values_list("section_id", "name"):
        names_in_section.setdefault(section_id, set()).add(name)
    stalls, themes_by_handle = [], {}
    for p in todo:
        theme = themes_by_handle[p.handle] = _theme_for(p)
        section_id = section_ids[(p.x, p.y)]
        taken_names = names_in_section.setdefault(section_id, set())
        name, description = _stall_text(random.Random(f"{p.x}/{p.y}/{p.slot}"), theme, taken_names)
        stalls.append(
            Stall(
                seller=sellers[p.handle],
                section_id=section_id,
                slot=p.slot,
                name=name,
                description=description,
                description_html=render_markdown(description),
            )
        )
    Stall.objects.bulk_create(stalls)
    stalls = list(Stall.objects.filter(seller__in=sellers.values()).select_related("seller__user"))
    themes = {stall.pk: themes_by_handle[stall.seller.user.handle] for stall in stalls}
    drafts = []
    for stall in stalls:
        rng = random.Random(stall.public_id)
        mine = stall.seller.user.handle == DEMO_SELLER
        count = max(items_per_stall, DEMO_SELLER_ITEMS) if mine else items_per_stall
        drafts += [
            (_item(rng, stall, good), good) for good in _goods_for(rng, themes[stall.pk], count)
        ]
    Item.objects.bulk_create([item for item, _ in drafts])
    stalls_by_id = {stall.pk: stall for stall in stalls}
    for item, _ in drafts:
        item.stall = stalls_by_id[item.stall_id]
    StockEvent.objects.bulk_create(
        [
            StockEvent(
                item=item,
                kind=StockEvent.Kind.INVENTORY_SET,
                quantity=item.inventory,
                note="seeded",
            )
            for item, _ in drafts
        ]
    )
    Photo.objects.bulk_create(_photos(stalls, drafts, themes))
    return len(stalls)


def demo_items_free(*, reach: int, exclude: set[int]) -> list[Item]:
    """Demo sellers' items with nothing on hold, in the sections from 0/0 to
    reach/reach (where a newcomer looks first), with their stall and seller."""
    held = Reservation.objects.filter(active_reservations()).values("item")
    return list(
        Item.objects.filter(
            archived_at__isnull=True,
            stall__section__x__range=(0, reach),
            stall__section__y__range=(0, reach),
            stall__seller__user__email__endswith=f"@{DEMO_EMAIL_DOMAIN}",
        )
        .exclude(pk__in=exclude)
        .exclude(pk__in=held)
        .select_related("stall__seller__user")
        .order_by("pk")
    )
