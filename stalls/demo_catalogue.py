"""What the demo market sells, read from `demo_catalogue.toml` (data, not code).

A theme is a kind of stall (records, lamps, a vintage clothes rail...): the names
and pitches its stalls get, the surfaces their photos are taken on, and its goods.
A good is one drawing (`stalls/demo_art/`) with the titles, notes, brands and sizes
an item of it may have, a price range in cents and a category.
"""

import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path

CATALOGUE = Path(__file__).resolve().parent / "demo_catalogue.toml"


@dataclass(frozen=True)
class Good:
    art: str
    category: str
    cents: tuple[int, int]
    titles: tuple[str, ...]
    notes: tuple[str, ...]
    brands: tuple[str, ...]
    sizes: tuple[str, ...]


@dataclass(frozen=True)
class Theme:
    key: str
    names: tuple[str, ...]
    pitches: tuple[str, ...]
    surfaces: tuple[str, ...]
    goods: tuple[Good, ...]


@dataclass(frozen=True)
class Catalogue:
    themes: tuple[Theme, ...]
    # The demo seller's stall at the centre of 0/0, where every newcomer starts.
    curios: Theme
    owners: tuple[str, ...]
    bullets: tuple[str, ...]
    sign_offs: tuple[str, ...]

    @property
    def goods(self) -> set[Good]:
        return {good for theme in (*self.themes, self.curios) for good in theme.goods}


@functools.cache
def catalogue() -> Catalogue:
    data = tomllib.loads(CATALOGUE.read_text(encoding="utf-8"))
    goods = {}
    for art, good in data["goods"].items():
        sizes = good.get("sizes", ())
        goods[art] = Good(
            art=art,
            category=good["category"],
            cents=tuple(good["cents"]),
            titles=tuple(good["titles"]),
            notes=tuple(good["notes"]),
            brands=tuple(good.get("brands", ())),
            sizes=tuple(data["sizes"][sizes] if isinstance(sizes, str) else sizes),
        )
    themes = {
        key: Theme(
            key=key,
            names=tuple(theme["names"]),
            pitches=tuple(theme["pitches"]),
            surfaces=tuple(theme["surfaces"]),
            goods=tuple(goods[art] for art in theme["goods"]),
        )
        for key, theme in data["themes"].items()
    }
    curios = themes.pop("curios")
    return Catalogue(
        themes=tuple(themes.values()),
        curios=curios,
        owners=tuple(data["owners"]),
        bullets=tuple(data["bullets"]),
        sign_offs=tuple(data["sign_offs"]),
    )
