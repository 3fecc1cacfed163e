"""Surfaces and backdrops for the demo market's photos, drawn with Pillow.

Everything here is made once per process (cached) and reused by every photo:
textures for the tables things stand on (wood, a crate, a checked cloth, a woven
blanket, velvet, linen, pavement), laid into perspective, and the blurred market
behind them.
"""

import functools
import math
import random

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageOps

Colour = tuple[int, int, int]

PHOTO_SIZE = (640, 480)
# Backdrops are this much larger than a photo, so each photo crops its own view.
SLACK = (72, 54)
# Surfaces are drawn flat (seen from above) at this size, then laid into perspective.
FLAT = (840, 420)
VARIANTS = 3

WOODS = [(128, 84, 50), (160, 112, 68), (98, 64, 40), (178, 136, 92), (140, 96, 58)]
CLOTHS = [(182, 40, 46), (38, 84, 160), (36, 120, 72), (40, 40, 44), (214, 120, 30)]
BLANKETS = [
    [(176, 52, 40), (232, 184, 72), (40, 96, 112), (244, 232, 208)],
    [(60, 80, 120), (200, 200, 190), (150, 40, 60), (30, 30, 40)],
    [(96, 128, 64), (228, 204, 150), (170, 80, 40), (60, 50, 40)],
]
VELVETS = [(92, 18, 40), (22, 36, 84), (18, 72, 54), (54, 30, 70)]
LINENS = [(222, 206, 176), (200, 186, 160), (236, 226, 206)]
# Awning stripes: a colour and the off-white it alternates with.
AWNINGS = [
    ((196, 52, 44), (246, 236, 220)),
    ((36, 92, 150), (246, 236, 220)),
    ((40, 120, 80), (240, 226, 190)),
    ((226, 150, 40), (250, 240, 220)),
    ((120, 60, 120), (240, 230, 220)),
    ((30, 110, 120), (244, 236, 222)),
]
CROWD = [(214, 90, 60), (240, 196, 90), (80, 140, 170), (120, 170, 90), (200, 110, 150)]


def mix(a: Colour, b: Colour, t: float) -> Colour:
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b, strict=True))


def shade(colour: Colour, factor: float) -> Colour:
    return tuple(max(0, min(255, round(c * factor))) for c in colour)


@functools.cache
def _noise(size: tuple[int, int]) -> Image.Image:
    """Grey noise around mid-grey; Pillow's generator is slow, so one per size."""
    return Image.effect_noise(size, 60)


def _grain(image: Image.Image, *, stretch: tuple[int, int] = (1, 1), amount: float) -> Image.Image:
    """Fabric or wood texture: noise, stretched along one axis for grain or weave."""
    width, height = image.size
    small = _noise((max(1, width // stretch[0]), max(1, height // stretch[1])))
    noise = small.resize(image.size, Image.Resampling.BILINEAR).convert("RGB")
    return Image.blend(image, ImageChops.overlay(image, noise), amount)


def _wood(rng: random.Random, base: Colour, *, plank: int = 70, vertical=False) -> Image.Image:
    """Planks with grain lines and dark gaps; vertical ones make a crate's slats."""
    width, height = FLAT
    image = Image.new("RGB", FLAT, base)
    draw = ImageDraw.Draw(image)
    span = width if vertical else height
    edge = 0
    while edge < span:
        size = plank + rng.randrange(-12, 13)
        tone = shade(base, rng.uniform(0.85, 1.12))
        box = [edge, 0, edge + size, height] if vertical else [0, edge, width, edge + size]
        draw.rectangle(box, fill=tone)
        for _ in range(rng.randrange(5, 10)):
            at = edge + rng.randrange(size)
            line = shade(tone, rng.uniform(0.8, 0.95))
            if vertical:
                draw.line([(at, 0), (at + rng.randrange(-6, 7), height)], fill=line, width=1)
            else:
                wave, phase = rng.uniform(40, 90), rng.random() * 6
                points = [
                    (x, at + 3 * math.sin(x / wave + phase)) for x in range(0, width + 20, 20)
                ]
                draw.line(points, fill=line, width=rng.choice((1, 2)))
        gap = [edge, 0, edge + 2, height] if vertical else [0, edge, width, edge + 2]
        draw.rectangle(gap, fill=shade(base, 0.45))
        edge += size
    return _grain(image, stretch=(1, 12) if vertical else (12, 1), amount=0.35)


def _gingham(rng: random.Random, colour: Colour, *, check: int = 34) -> Image.Image:
    width, height = FLAT
    white = (246, 242, 232)
    vertical, horizontal = Image.new("L", FLAT, 0), Image.new("L", FLAT, 0)
    for at in range(0, max(width, height), check * 2):
        ImageDraw.Draw(vertical).rectangle([at, 0, at + check - 1, height], fill=255)
        ImageDraw.Draw(horizontal).rectangle([0, at, width, at + check - 1], fill=255)
    image = Image.new("RGB", FLAT, white)
    image.paste(mix(colour, white, 0.45), mask=vertical)
    image.paste(mix(colour, white, 0.45), mask=horizontal)
    image.paste(colour, mask=ImageChops.multiply(vertical, horizontal))
    image = image.rotate(rng.uniform(-4, 4), resample=Image.Resampling.BILINEAR, fillcolor=white)
    return _grain(image, amount=0.25)


def _blanket(rng: random.Random, colours: list[Colour]) -> Image.Image:
    """A woven blanket: bands of its colours, wide and narrow."""
    width, height = FLAT
    image = Image.new("RGB", FLAT, colours[0])
    draw = ImageDraw.Draw(image)
    at = 0
    while at < height:
        size = rng.choice((6, 10, 18, 30, 44))
        draw.rectangle([0, at, width, at + size], fill=rng.choice(colours))
        at += size
    return _grain(image, stretch=(1, 3), amount=0.4)


def _plain(colour: Colour, *, amount: float) -> Image.Image:
    return _grain(Image.new("RGB", FLAT, colour), amount=amount)


SURFACES = {
    "wood": lambda rng, v: _wood(rng, WOODS[v]),
    "crate": lambda rng, v: _wood(
        rng, mix(WOODS[v], (230, 200, 150), 0.4), plank=110, vertical=True
    ),
    "cloth": lambda rng, v: _gingham(rng, CLOTHS[v]),
    "blanket": lambda rng, v: _blanket(rng, BLANKETS[v % len(BLANKETS)]),
    "velvet": lambda rng, v: _plain(VELVETS[v], amount=0.5),
    "linen": lambda rng, v: _plain(LINENS[v % len(LINENS)], amount=0.5),
    "pavement": lambda rng, v: _plain(shade((150, 146, 138), 0.9 + v * 0.05), amount=0.8),
}


@functools.cache
def flat_surface(surface: str, variant: int) -> Image.Image:
    return SURFACES[surface](random.Random(f"{surface}/{variant}"), variant)


def _solve(matrix: list[list[float]], vector: list[float]) -> list[float]:
    """Gauss-Jordan elimination for the 8x8 system of a perspective transform."""
    rows = [[*row, value] for row, value in zip(matrix, vector, strict=True)]
    size = len(rows)
    for col in range(size):
        pivot = max(range(col, size), key=lambda r: abs(rows[r][col]))
        rows[col], rows[pivot] = rows[pivot], rows[col]
        for r in range(size):
            if r != col:
                factor = rows[r][col] / rows[col][col]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[col], strict=True)]
    return [rows[r][size] / rows[r][r] for r in range(size)]


def perspective(flat: Image.Image, size: tuple[int, int], far: float) -> Image.Image:
    """A flat surface as a table top seen from the front and above: the near edge
    shows the middle `1 - 2 * far` of its width, the far edge all of it."""
    width, height = size
    flat_width, flat_height = flat.size
    pairs = [
        ((0, 0), (0, 0)),
        ((width, 0), (flat_width, 0)),
        ((width, height), (flat_width * (1 - far), flat_height)),
        ((0, height), (flat_width * far, flat_height)),
    ]
    matrix, vector = [], []
    for (x, y), (u, v) in pairs:
        matrix += [[x, y, 1, 0, 0, 0, -u * x, -u * y], [0, 0, 0, x, y, 1, -v * x, -v * y]]
        vector += [u, v]
    return flat.transform(
        size, Image.Transform.PERSPECTIVE, _solve(matrix, vector), Image.Resampling.BILINEAR
    )


@functools.cache
def market_blur(size: tuple[int, int], variant: int) -> Image.Image:
    """The market behind a table, out of focus: awnings, people, string lights."""
    rng = random.Random(f"market/{size}/{variant}")
    width, height = size
    small = (width // 6, height // 6)
    sky = mix((236, 230, 214), (170, 200, 224), rng.uniform(0, 0.6))
    image = Image.new("RGB", small, sky)
    draw = ImageDraw.Draw(image)
    x = rng.randrange(-30, 0)
    while x < small[0]:
        stall = rng.randrange(40, 70)
        colour, white = rng.choice(AWNINGS)
        top = rng.randrange(2, 14)
        for stripe in range(x, x + stall, 12):
            draw.rectangle([stripe, top, stripe + 5, top + 20], fill=colour)
            draw.rectangle([stripe + 6, top, stripe + 11, top + 20], fill=white)
        under = mix(shade(colour, 0.35), (90, 70, 50), 0.5)
        draw.rectangle([x, top + 21, x + stall - 2, small[1]], fill=under)
        x += stall + rng.randrange(2, 10)
    for _ in range(rng.randrange(5, 10)):
        cx, cy = rng.uniform(0, small[0]), rng.uniform(small[1] * 0.45, small[1] * 0.75)
        draw.ellipse([cx - 5, cy, cx + 5, cy + 30], fill=mix(rng.choice(CROWD), (40, 34, 30), 0.55))
        draw.ellipse([cx - 3, cy - 7, cx + 3, cy - 1], fill=(150, 110, 90))
    for _ in range(rng.randrange(8, 14)):
        cx, cy, r = rng.uniform(0, small[0]), rng.uniform(0, small[1] * 0.35), rng.uniform(1, 2.5)
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(255, 226, 150))
    image = image.filter(ImageFilter.GaussianBlur(3.2))
    return image.resize(size, Image.Resampling.BICUBIC)


@functools.cache
def _lighting(size: tuple[int, int]) -> tuple[Image.Image, Image.Image]:
    """Masks for a soft light from the upper left and for darker corners."""
    small = (size[0] // 8, size[1] // 8)
    light = Image.new("L", small, 0)
    ImageDraw.Draw(light).ellipse(
        [-small[0] // 4, -small[1] // 3, small[0] // 2, small[1] // 2], fill=70
    )
    vignette = Image.new("L", small, 120)
    ImageDraw.Draw(vignette).ellipse([-2, -2, small[0] + 2, small[1] + 2], fill=0)
    return tuple(
        mask.filter(ImageFilter.GaussianBlur(radius)).resize(size, Image.Resampling.BICUBIC)
        for mask, radius in ((light, 12), (vignette, 8))
    )


@functools.cache
def table_scene(surface: str, variant: int, mirrored: bool) -> Image.Image:
    """A table of `surface` in front of the blurred market, lit, larger than a photo."""
    if mirrored:
        return ImageOps.mirror(table_scene(surface, variant, False))
    rng = random.Random(f"scene/{surface}/{variant}")
    size = (PHOTO_SIZE[0] + SLACK[0], PHOTO_SIZE[1] + SLACK[1])
    image = market_blur(size, variant).copy()
    edge = round(size[1] * rng.uniform(0.3, 0.4))
    table = perspective(flat_surface(surface, variant), (size[0], size[1] - edge), far=0.22)
    # The table darkens toward its far edge, where less light reaches it.
    falloff = Image.linear_gradient("L").resize(table.size).point(lambda v: 255 - v // 2)
    table = ImageChops.multiply(table, Image.merge("RGB", [falloff] * 3))
    image.paste(table, (0, edge))
    ImageDraw.Draw(image).line(
        [(0, edge), (size[0], edge)], fill=shade(table.getpixel((size[0] // 2, 2)), 1.25), width=2
    )
    light, vignette = _lighting(size)
    image.paste((255, 246, 228), mask=light)
    image.paste((0, 0, 0), mask=vignette)
    return image
