"""The demo market's photos: composed from vendored OpenMoji art, one per seed."""

import io

import pytest
from PIL import Image

from stalls import demo_photos
from stalls.demo_catalogue import catalogue
from stalls.demo_photos import PhotoJob, render, render_many
from stalls.demo_surfaces import SURFACES
from stalls.models import Item

ART_LICENCE = demo_photos.ART_DIR / "LICENSE"


def job(**fields) -> PhotoJob:
    return PhotoJob(
        **{"name": "x.jpg", "slugs": ("teapot",), "surface": "cloth", "seed": "a", **fields}
    )


def test_the_catalogue_names_only_art_and_surfaces_that_exist_and_real_categories():
    slugs = demo_photos.art_slugs()
    data = catalogue()
    for theme in (*data.themes, data.curios):
        assert theme.goods and theme.names and theme.pitches
        assert set(theme.surfaces) <= set(SURFACES)
    categories = {value for value, _ in Item._meta.get_field("category").choices}
    for good in data.goods:
        assert good.art in slugs, good.art
        assert good.category in categories, good
        assert 0 < good.cents[0] <= good.cents[1]
        assert good.titles and good.notes


def test_the_vendored_art_ships_with_its_licence_and_its_sources():
    assert "Attribution-ShareAlike 4.0 International" in ART_LICENCE.read_text()
    readme = (demo_photos.ART_DIR / "README.md").read_text()
    assert "OpenMoji" in readme and "CC BY-SA 4.0" in readme
    listed = {
        line.split()[0]
        for line in (demo_photos.ART_DIR / "sources.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    files = {path.stem for path in demo_photos.ART_DIR.glob("*.png")}
    assert listed == files
    used = {good.art for good in catalogue().goods} - {"vinyl-record"}
    assert used == files  # nothing vendored that the market does not use


def test_a_seed_gives_the_same_photo_and_another_seed_another():
    first, thumbnail = render(job())
    assert render(job()) == (first, thumbnail)
    assert render(job(seed="b"))[0] != first
    image = Image.open(io.BytesIO(first))
    assert (image.format, image.size) == ("JPEG", demo_photos.PHOTO_SIZE)
    assert Image.open(io.BytesIO(thumbnail)).size == (320, 240)


@pytest.mark.parametrize(
    "fields",
    [
        {"slugs": ("vinyl-record",), "surface": "crate"},
        {"slugs": ("bicycle",), "surface": "pavement", "close_up": True},
        {"slugs": ("ring", "gem", "crown", "old-key", "medal", "purse"), "sign": "Magpie's Nest"},
    ],
)
def test_item_close_up_and_stall_photos_are_made(fields):
    photo, _ = render(job(**fields))
    assert Image.open(io.BytesIO(photo)).size == demo_photos.PHOTO_SIZE


def test_render_many_writes_files_for_local_storage_and_returns_them_otherwise(tmp_path):
    jobs = [job(name=f"{n}.jpg", seed=str(n)) for n in range(3)]
    assert [made for _, made in render_many(jobs, folder=str(tmp_path))] == [None] * 3
    assert sorted(path.name for path in (tmp_path / "photos").iterdir()) == [
        "0.jpg",
        "1.jpg",
        "2.jpg",
    ]
    assert (tmp_path / "thumbs" / "2.jpg").read_bytes() == render(jobs[2])[1]
    assert dict(render_many(jobs, folder=None)) == {one: render(one) for one in jobs}


def test_a_thousand_photos_are_shared_out_to_worker_processes(tmp_path, monkeypatch):
    """The path a full demo market takes, with its workers (spawned interpreters)."""
    monkeypatch.setattr(demo_photos, "_cores", lambda: 2)
    jobs = [
        job(name=f"{n}.jpg", seed=str(n), slugs=(slug,))
        for n, slug in enumerate(["teapot", "radio", "guitar", "camera"] * 60)
    ]
    done = [made for _, made in render_many(jobs, folder=str(tmp_path))]
    assert done == [None] * len(jobs)
    assert len(list((tmp_path / "thumbs").iterdir())) == len(jobs)
