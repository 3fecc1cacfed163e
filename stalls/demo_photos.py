"""Product-style photos for the demo market, composed with Pillow from vendored art.

An item photo is one object (an OpenMoji drawing from `stalls/demo_art/`, see its
README) standing on a table (`demo_surfaces`) with a contact shadow and a soft cast
shadow; a stall photo is the stall seen from the aisle, under its awning, with a
few of its things on the table. Each photo takes its crop, mirror, size and place
from a seed, so no two look alike and a seed always gives the same photo.
"""

import functools
import io
import multiprocessing
import os
import random
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont, ImageOps

from .demo_surfaces import (
    AWNINGS,
    PHOTO_SIZE,
    SLACK,
    VARIANTS,
    flat_surface,
    market_blur,
    mix,
    perspective,
    shade,
    table_scene,
)

ART_DIR = Path(__file__).resolve().parent / "demo_art"
# Each worker holds about 200 MB of surfaces and drawings; four make a market quickly.
MAX_WORKERS = 4
# Drawings with lettering, which a mirror image would show backwards.
NOT_MIRRORED = {"blue-book", "green-book", "orange-book", "decorated-notebook", "newspaper"}
# How big a thing looks beside the others on a stall's table (1 is a teapot).
RELATIVE_SIZE = {
    "ring": 0.45, "gem": 0.55, "old-key": 0.6, "wristwatch": 0.55, "medal": 0.6,
    "teacup": 0.55, "coffee-cup": 0.6, "spoon": 0.6, "die": 0.45, "yo-yo": 0.55,
    "chess-pawn": 0.6, "puzzle-piece": 0.5, "nazar-amulet": 0.5, "sewing-needle": 0.7,
    "bicycle": 1.5, "guitar": 1.45, "chair": 1.4, "armchair": 1.4, "scooter": 1.4,
    "harp": 1.35, "couch-and-lamp": 1.4, "globe": 1.1, "tent": 1.3, "skateboard": 1.2,
    "football": 0.65, "pool-ball": 0.5, "hourglass": 0.8, "candle": 0.8,
}  # fmt: skip
# Drawings shown in another colour than OpenMoji's (multiplied in): a gold ring.
TINTS = {"ring": (236, 184, 64)}


def art(slug: str) -> Image.Image:
    """A vendored drawing, trimmed to its outline (RGBA); records are drawn here."""
    if slug == "vinyl-record":
        return _vinyl_record()
    return Image.open(ART_DIR / f"{slug}.png").convert("RGBA")


@functools.cache
def _art_size(slug: str) -> tuple[int, int]:
    return _full(slug)[0].size


def art_slugs() -> set[str]:
    """Every drawing a catalogue may name."""
    return {path.stem for path in ART_DIR.glob("*.png")} | {"vinyl-record"}


def _vinyl_record() -> Image.Image:
    """A record half out of its sleeve: no emoji shows one."""
    size = 420
    image = Image.new("RGBA", (size + 160, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    ink = (30, 24, 20)
    draw.rounded_rectangle([0, 0, size, size], radius=6, fill=(232, 220, 196), outline=ink, width=6)
    draw.rectangle([30, 30, size - 30, size - 30], fill=(196, 72, 52))
    draw.ellipse([90, 90, size - 90, size - 90], fill=(240, 190, 80))
    disc = [150, 10, 150 + size - 20, size - 10]
    draw.ellipse(disc, fill=(24, 22, 24), outline=(0, 0, 0), width=6)
    cx, cy = (disc[0] + disc[2]) / 2, (disc[1] + disc[3]) / 2
    for r in range(70, (size - 20) // 2 - 10, 9):
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=(52, 50, 54), width=1)
    draw.ellipse([cx - 62, cy - 62, cx + 62, cy + 62], fill=(214, 66, 54))
    draw.ellipse([cx - 8, cy - 8, cx + 8, cy + 8], fill=(20, 18, 20))
    return image


# A worker keeps the full-size copies of a few drawings only (photos come in runs of
# one drawing) and the small copies of all (every stall photo shows nine).
@functools.lru_cache(maxsize=16)
def _full(slug: str) -> tuple[Image.Image, Image.Image]:
    """The drawing lit from the upper left (a flat sticker gains some volume), and its
    outline blurred (its cast shadow before it is squashed)."""
    sprite = art(slug)
    down = Image.linear_gradient("L")
    ramp = ImageChops.add(down, down.transpose(Image.Transpose.ROTATE_90), scale=2)
    ramp = ramp.resize(sprite.size).point(lambda v: 255 - v * 22 // 100)
    *colours, alpha = sprite.split()
    if slug in TINTS:
        tint = zip(colours, TINTS[slug], strict=True)
        colours = [band.point(lambda v, c=c: v * c // 255) for band, c in tint]
    lit = Image.merge("RGBA", [*(ImageChops.multiply(band, ramp) for band in colours), alpha])
    # The outline is blurred at a quarter of its size: it looks the same, for a sixteenth.
    outline = ImageOps.expand(alpha, border=24, fill=0)
    blurred = outline.reduce(4).filter(ImageFilter.GaussianBlur(2.5))
    # Kept premultiplied: resizing an RGBA image converts it to this first, every time.
    return lit.convert("RGBa"), blurred.resize(outline.size, Image.Resampling.BILINEAR)


@functools.cache
def _contact_shadow() -> Image.Image:
    """A soft ellipse, the shadow right under an object, resized per use."""
    sprite = Image.new("L", (200, 60), 0)
    ImageDraw.Draw(sprite).ellipse([30, 18, 170, 42], fill=255)
    return sprite.filter(ImageFilter.GaussianBlur(9))


@functools.cache
def _scaled(factor: float) -> list[int]:
    """A lookup table that scales a mask's values (how dark a shadow is)."""
    return [round(value * factor) for value in range(256)]


def _mip(slug: str, level: int) -> tuple[Image.Image, Image.Image]:
    """The lit drawing and its blurred outline at 1/2**level of their size: a small
    photo of a thing is resized from a small copy, which costs far less."""
    return _full(slug) if level == 0 else _reduced(slug, level)


@functools.cache
def _reduced(slug: str, level: int) -> tuple[Image.Image, Image.Image]:
    sprite, outline = _mip(slug, level - 1)
    return sprite.reduce(2), outline.reduce(2)


def _sized(slug: str, height: int) -> tuple[Image.Image, Image.Image, tuple[int, int]]:
    """The object at a height, and its shadow (a mask) with where that goes from the
    object's left edge and base: a soft cast shadow on the table behind, a little to
    the right, and a darker one right under it."""
    full_height = _art_size(slug)[1]
    level = 0
    while level < 3 and full_height / 2 ** (level + 1) >= height:
        level += 1
    sprite, silhouette = _mip(slug, level)
    scale = min(height / sprite.height, PHOTO_SIZE[0] * 0.78 / sprite.width)
    width = max(1, round(sprite.width * scale))
    thing = sprite.resize((width, max(1, round(sprite.height * scale))), Image.Resampling.BILINEAR)
    cast = silhouette.resize(
        (round(silhouette.width * scale), max(1, round(silhouette.height * scale * 0.28))),
        Image.Resampling.BILINEAR,
    ).point(_scaled(0.32))
    contact = _contact_shadow().resize((round(width * 1.25), max(8, round(width * 0.28))))
    cast_at = (round(width * 0.12), -round(cast.height * 0.85))
    contact_at = (round(width / 2 - contact.width / 2), -round(contact.height / 2))
    left, top = min(cast_at[0], contact_at[0]), min(cast_at[1], contact_at[1])
    right = max(cast_at[0] + cast.width, contact_at[0] + contact.width)
    bottom = max(cast_at[1] + cast.height, contact_at[1] + contact.height)
    shadow = Image.new("L", (right - left, bottom - top), 0)
    for mask, (x, y) in ((cast, cast_at), (contact.point(_scaled(0.62)), contact_at)):
        layer = Image.new("L", shadow.size, 0)
        layer.paste(mask, (x - left, y - top))
        shadow = ImageChops.add(shadow, layer)
    return thing.convert("RGBA"), shadow, (left, top)


# Photos of one thing come in a few heights, and are made in order of their drawing,
# so most find their size in the first cache; the small copies on stall photos are
# few enough to keep them all.
_sized_large = functools.lru_cache(maxsize=48)(_sized)
_sized_small = functools.cache(_sized)
HEIGHT_STEP = 12
SMALL = 160


def _place(
    canvas: Image.Image, slug: str, *, centre_x: float, base_y: float, height: float, mirror: bool
) -> None:
    """Stand an object on the table with its base at (centre_x, base_y)."""
    height = max(1, round(height / HEIGHT_STEP)) * HEIGHT_STEP
    thing, shadow, (dx, dy) = (_sized_small if height < SMALL else _sized_large)(slug, height)
    if mirror and slug not in NOT_MIRRORED:
        thing = ImageOps.mirror(thing)
    left = round(centre_x - thing.width / 2)
    canvas.paste((18, 12, 8), (left + dx, round(base_y) + dy), shadow)
    canvas.paste(thing, (left, round(base_y - thing.height)), thing)


def item_photo(*, slug: str, surface: str, seed: str, close_up: bool = False) -> Image.Image:
    """A product photo of `slug` on `surface`; the seed picks every variation. A
    close-up fills the frame, as a seller's second photo of a detail would."""
    rng = random.Random(seed)
    width, height = PHOTO_SIZE
    left, top = rng.randrange(SLACK[0] + 1), rng.randrange(SLACK[1] + 1)
    scene = table_scene(surface, rng.randrange(VARIANTS), rng.random() < 0.5)
    canvas = scene.crop((left, top, left + width, top + height))
    if close_up:
        size, base = height * 0.88, height * rng.uniform(0.95, 1.02)
    else:
        size, base = height * rng.choice((0.56, 0.62, 0.68)), height * rng.uniform(0.84, 0.92)
    _place(
        canvas,
        slug,
        centre_x=width * (0.5 + rng.uniform(-0.1, 0.1)),
        base_y=base,
        height=size,
        mirror=rng.random() < 0.5,
    )
    return canvas


def _awning(draw: ImageDraw.ImageDraw, width: int, depth: int, colours) -> None:
    """Stripes with a scalloped hem, as market awnings have."""
    colour, white = colours
    stripe = 40
    for index, x in enumerate(range(0, width, stripe)):
        fill = colour if index % 2 == 0 else white
        draw.rectangle([x, 0, x + stripe, depth], fill=fill)
        draw.chord([x, depth - stripe // 2, x + stripe, depth + stripe // 2], 0, 180, fill=fill)


SHELF_Y = 222


@functools.lru_cache(maxsize=8)
def _stall_base(awning: int, surface: str, variant: int) -> Image.Image:
    """The empty stall: market behind, back cloth, posts, covered table, awning."""
    width, height = PHOTO_SIZE
    colours = AWNINGS[awning % len(AWNINGS)]
    image = market_blur(PHOTO_SIZE, variant).copy()
    draw = ImageDraw.Draw(image)
    depth = round(height * 0.2)
    back = mix(shade(colours[0], 0.45), (60, 48, 40), 0.4)
    draw.rectangle([24, depth, width - 24, height], fill=back)
    for left in (14, width - 34):
        draw.rectangle([left, depth, left + 20, height], fill=(92, 64, 42))
    table_top = round(height * 0.66)
    flat = flat_surface(surface, variant)
    image.paste(perspective(flat, (width - 48, 40), far=0.1), (24, table_top))
    front = flat.crop((0, 0, width - 48, height - table_top - 40))
    image.paste(
        ImageChops.multiply(front, Image.new("RGB", front.size, (205, 200, 196))),
        (24, table_top + 40),
    )
    draw.rectangle([24, SHELF_Y, width - 24, SHELF_Y + 10], fill=(120, 86, 56))
    draw.line([(24, SHELF_Y + 10), (width - 24, SHELF_Y + 10)], fill=(60, 42, 28), width=3)
    _awning(draw, width, depth, colours)
    under = Image.linear_gradient("L").resize((width, round(height * 0.18)))
    image.paste((0, 0, 0), (0, depth + 6), under.point(lambda v: 150 - v * 150 // 255))
    return image


def stall_photo(*, slugs: list[str], surface: str, awning: int, seed: str, sign: str):
    """A stall seen from the aisle: its awning, its name on a board, a shelf and a
    table with its things on them, the market blurred behind."""
    rng = random.Random(seed)
    width, height = PHOTO_SIZE
    image = _stall_base(awning, surface, rng.randrange(VARIANTS)).copy()
    draw = ImageDraw.Draw(image)
    depth = round(height * 0.2)
    # The stall's name on a board hung over the awning's hem.
    font = _font(30)
    half = draw.textlength(sign, font=font) / 2 + 18
    board = [width / 2 - half, depth - 30, width / 2 + half, depth + 18]
    draw.rounded_rectangle(board, radius=6, fill=(42, 46, 40), outline=(150, 110, 70), width=4)
    middle = (width / 2, (board[1] + board[3]) / 2)
    draw.text(middle, sign, font=font, fill=(246, 240, 226), anchor="mm")
    rows = [(slugs[:5], round(height * 0.66) + 24, 0.24), (slugs[5:9], SHELF_Y, 0.15)]
    for shown, base_y, size in rows:
        span = (width - 110) / max(1, len(shown))
        for index, slug in enumerate(shown):
            sprite_width, sprite_height = _art_size(slug)
            fits = min(span * 1.05, 150) * sprite_height / sprite_width
            _place(
                image,
                slug,
                centre_x=55 + span * (index + 0.5) + rng.uniform(-6, 6),
                base_y=base_y + rng.uniform(-4, 6),
                height=min(height * size * RELATIVE_SIZE.get(slug, 1), fits),
                mirror=rng.random() < 0.5,
            )
    return image


@functools.cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


@dataclass(frozen=True)
class PhotoJob:
    """One photo to make: an item's (one slug) or a stall's (several, and a sign),
    stored as `photos/<name>` with its thumbnail as `thumbs/<name>`."""

    name: str
    slugs: tuple[str, ...]
    surface: str
    seed: str
    close_up: bool = False
    awning: int = 0
    sign: str = ""


def render(job: PhotoJob) -> tuple[bytes, bytes]:
    """The photo and its thumbnail (half its size), as JPEG."""
    if job.sign:
        image = stall_photo(
            slugs=list(job.slugs),
            surface=job.surface,
            awning=job.awning,
            seed=job.seed,
            sign=job.sign,
        )
    else:
        image = item_photo(
            slug=job.slugs[0], surface=job.surface, seed=job.seed, close_up=job.close_up
        )
    encoded = []
    for picture in (image, image.reduce(2)):
        buffer = io.BytesIO()
        picture.save(buffer, format="JPEG", quality=82)
        encoded.append(buffer.getvalue())
    return encoded[0], encoded[1]


def _render_into(folder: str | None, job: PhotoJob) -> tuple[bytes, bytes] | None:
    """Write the photo under `folder` (a local media root), or return it."""
    photo, thumbnail = render(job)
    if folder is None:
        return photo, thumbnail
    for subfolder, data in (("photos", photo), ("thumbs", thumbnail)):
        (Path(folder) / subfolder / job.name).write_bytes(data)
    return None


def _batch(job: PhotoJob) -> tuple:
    """Items by drawing, then stalls by their empty stall: what the caches hold."""
    return (1, job.surface, job.awning) if job.sign else (0, job.slugs)


def _cores() -> int:
    if hasattr(os, "sched_getaffinity"):  # Linux: the cores this process may use
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def render_many(
    jobs: list[PhotoJob], *, folder: str | None
) -> Iterator[tuple[PhotoJob, tuple[bytes, bytes] | None]]:
    """Make every job's photo, on all cores (a demo market has thousands), yielding
    each job as it is done. With a local `folder` the workers write the files; without
    one (remote storage) each job comes with its JPEGs, for the caller to save.

    Jobs are handed out in runs of one drawing (or one empty stall), so a worker
    mostly finds what it needs in its caches. Workers are fresh interpreters
    ("spawn"), which import only Pillow and this module.
    """
    if folder is not None:
        for subfolder in ("photos", "thumbs"):
            (Path(folder) / subfolder).mkdir(parents=True, exist_ok=True)
    ordered = sorted(jobs, key=_batch)
    work = functools.partial(_render_into, folder)
    workers = min(MAX_WORKERS, _cores())
    if workers < 2 or len(jobs) < 200:
        yield from ((job, work(job)) for job in ordered)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        yield from zip(ordered, pool.map(work, ordered, chunksize=48), strict=True)
