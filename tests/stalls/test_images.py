"""stalls.images: only real photos get through, re-encoded as clean JPEGs."""

import io
import struct
import time
import zlib

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from stalls.images import ImageRefused, process_upload

GPS_IFD = 0x8825
MAKE = 0x010F
ORIENTATION = 0x0112


def _noise(size=(640, 480)) -> Image.Image:
    """Random pixels: they do not compress, so truncating the file cuts image data."""
    return Image.effect_noise(size, 80).convert("RGB")


def _encode(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def _upload(data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def _open(content_file) -> Image.Image:
    content_file.seek(0)
    image = Image.open(io.BytesIO(content_file.read()))
    image.load()
    return image


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares width × height but carries (almost) no pixel data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1024))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("fmt", "mode", "name"),
    [("JPEG", "RGB", "a.jpg"), ("PNG", "RGB", "a.png"), ("WEBP", "RGB", "a.webp")],
)
def test_real_photos_are_accepted_and_re_encoded_as_jpeg(fmt, mode, name):
    data = _encode(Image.new(mode, (1600, 900), (200, 40, 40)), fmt)

    processed = process_upload(_upload(data, name=name, content_type="image/x-whatever"))

    full = _open(processed.image)
    thumb = _open(processed.thumbnail)
    assert full.format == "JPEG"
    assert thumb.format == "JPEG"
    assert processed.name.endswith(".jpg")
    assert max(full.size) == settings.PHOTO_SIZE
    assert (processed.width, processed.height) == full.size
    assert max(thumb.size) == settings.PHOTO_THUMB_SIZE
    assert full.getpixel((10, 10)) == pytest.approx((200, 40, 40), abs=6)


def test_exif_and_gps_are_removed():
    image = Image.new("RGB", (400, 300), (10, 120, 200))
    exif = Image.Exif()
    exif[MAKE] = "SpyCam 3000"
    exif[GPS_IFD] = {1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)}
    original = _encode(image, "JPEG", exif=exif)
    assert Image.open(io.BytesIO(original)).getexif().get(MAKE) == "SpyCam 3000"

    processed = process_upload(_upload(original))

    for content in (processed.image, processed.thumbnail):
        content.seek(0)
        data = content.read()
        assert b"Exif" not in data
        assert b"SpyCam" not in data
        assert dict(Image.open(io.BytesIO(data)).getexif()) == {}


def test_exif_orientation_is_applied():
    # Stored 400 wide × 200 high; orientation 6 says "rotate 90° clockwise to display".
    image = Image.new("RGB", (400, 200), (0, 0, 0))
    image.paste((255, 0, 0), (0, 0, 200, 200))  # left half red as stored
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    processed = process_upload(_upload(_encode(image, "JPEG", exif=exif)))

    full = _open(processed.image)
    assert full.size == (200, 400)
    assert (processed.width, processed.height) == (200, 400)
    # Rotated clockwise, the stored left half is now on top.
    assert full.getpixel((100, 50))[0] > 200
    assert full.getpixel((100, 350))[0] < 50


def test_png_transparency_is_flattened_onto_white():
    image = Image.new("RGBA", (200, 100), (255, 0, 0, 0))  # fully transparent red
    image.paste((0, 0, 255, 255), (100, 0, 200, 100))  # opaque blue right half
    processed = process_upload(_upload(_encode(image, "PNG"), name="a.png"))

    full = _open(processed.image)
    assert full.mode == "RGB"
    assert full.getpixel((20, 50)) == pytest.approx((255, 255, 255), abs=6)
    assert full.getpixel((180, 50)) == pytest.approx((0, 0, 255), abs=6)


def test_palette_png_with_transparency_is_flattened():
    image = Image.new("RGBA", (64, 64), (0, 255, 0, 0)).convert("P")
    image.info["transparency"] = 0
    processed = process_upload(_upload(_encode(image, "PNG", transparency=0), name="p.png"))
    assert _open(processed.image).getpixel((5, 5)) == pytest.approx((255, 255, 255), abs=6)


def test_a_text_file_named_jpg_is_refused():
    with pytest.raises(ImageRefused) as refused:
        process_upload(_upload(b"definitely not a photo\n" * 10, name="cat.jpg"))
    assert "not a readable JPEG, PNG or WebP" in refused.value.message


def test_a_gif_is_refused_even_though_pillow_reads_it():
    data = _encode(Image.new("RGB", (32, 32), (1, 2, 3)), "GIF")
    with pytest.raises(ImageRefused) as refused:
        process_upload(_upload(data, name="a.jpg"))
    assert refused.value.message == "Only JPEG, PNG or WebP photos are accepted."


def test_a_truncated_jpeg_is_refused():
    data = _encode(_noise(), "JPEG", quality=90)
    Image.open(io.BytesIO(data)).load()  # the whole file is fine

    with pytest.raises(ImageRefused) as refused:
        process_upload(_upload(data[: len(data) // 2]))
    assert "not a readable" in refused.value.message


def test_an_empty_file_is_refused():
    with pytest.raises(ImageRefused, match="empty"):
        process_upload(_upload(b""))


def test_a_file_over_5_mb_is_refused_before_decoding():
    data = b"\xff\xd8\xff" + b"\0" * settings.PHOTO_MAX_UPLOAD_BYTES

    with pytest.raises(ImageRefused) as refused:
        process_upload(_upload(data))
    assert refused.value.message == "That file is over 5 MB; choose a smaller photo."


def test_a_file_without_size_attribute_is_measured():
    data = _encode(Image.new("RGB", (50, 50)), "PNG")
    processed = process_upload(io.BytesIO(data))
    assert _open(processed.image).size == (50, 50)


def test_a_64_megapixel_png_is_refused_without_decoding_it():
    data = _png_header_only(8000, 8000)
    assert len(data) < 10_000

    started = time.perf_counter()
    with pytest.raises(ImageRefused) as refused:
        process_upload(_upload(data, name="huge.png"))
    elapsed = time.perf_counter() - started

    # The header alone is enough: decoding 64 MP would take far longer (and the
    # pixel data is missing, which would give a different message).
    assert refused.value.message == "That image is 8000×8000 pixels; the limit is 40 megapixels."
    assert elapsed < 0.5


def test_a_decompression_bomb_is_refused():
    data = _png_header_only(20_000, 20_000)  # 400 MP: over Pillow's own bomb limit
    with pytest.raises(ImageRefused) as refused:
        process_upload(_upload(data, name="bomb.png"))
    assert refused.value.message == "That image is too large to open safely."


def _segments(jpeg: bytes) -> list[int]:
    """The markers of a JPEG's header segments, up to the start of the scan."""
    markers, position = [], 2
    while position < len(jpeg):
        marker = jpeg[position + 1]
        markers.append(marker)
        if marker == 0xDA:  # start of scan: pixel data follows
            return markers
        (length,) = struct.unpack(">H", jpeg[position + 2 : position + 4])
        position += 2 + length
    return markers


def _stored(processed) -> list[bytes]:
    stored = []
    for content in (processed.image, processed.thumbnail):
        content.seek(0)
        stored.append(content.read())
    return stored


def test_a_jpeg_comment_is_not_stored():
    secret = b"owner: marta@example.com, shot at 12 Rue Secrete"
    original = _encode(_noise((400, 300)), "JPEG", comment=secret)
    assert 0xFE in _segments(original) and secret in original

    processed = process_upload(_upload(original))

    for data in _stored(processed):
        assert secret not in data
        assert 0xFE not in _segments(data)  # no COM segment at all
        assert "comment" not in Image.open(io.BytesIO(data)).info


def test_only_the_pixels_and_an_rgb_colour_profile_are_kept():
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    original = _encode(
        _noise((400, 300)), "JPEG", icc_profile=profile, comment=b"hidden", dpi=(300, 300)
    )

    processed = process_upload(_upload(original))

    for data in _stored(processed):
        stored = Image.open(io.BytesIO(data))
        assert stored.info["icc_profile"] == profile
        assert "dpi" not in stored.info and "comment" not in stored.info
        # SOI is not listed; what remains: JFIF, the profile, tables, frame, scan.
        assert set(_segments(data)) <= {0xE0, 0xE2, 0xDB, 0xC4, 0xC2, 0xDA}


def test_a_cmyk_profile_is_dropped_with_the_cmyk():
    cmyk_profile = bytearray(128)
    cmyk_profile[16:20] = b"CMYK"
    original = _encode(Image.new("CMYK", (200, 100)), "JPEG", icc_profile=bytes(cmyk_profile))

    processed = process_upload(_upload(original))

    for data in _stored(processed):
        assert "icc_profile" not in Image.open(io.BytesIO(data)).info
