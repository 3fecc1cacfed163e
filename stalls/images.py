"""Checking and re-encoding uploaded photos.

An upload is trusted only after Pillow has decoded it: the name and the
browser's content type are ignored. What we store is our own re-encoding of the
pixels and, if it describes RGB, the colour profile: metadata (EXIF with GPS and
camera serials, XMP, JPEG comments) and anything smuggled in the file are gone.
"""

import io
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from PIL import Image, ImageOps, UnidentifiedImageError

from bazaar.ids import new_ulid

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP"}
# An sRGB or Display P3 profile is a few kilobytes; a bigger one is not a photo's.
ICC_PROFILE_MAX_BYTES = 128 * 1024


class ImageRefused(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ProcessedImage:
    name: str
    image: ContentFile
    thumbnail: ContentFile
    width: int
    height: int


def _encode(
    image: Image.Image, longest_side: int, colour_profile: bytes | None
) -> tuple[ContentFile, tuple[int, int]]:
    copy = image.copy()
    copy.thumbnail((longest_side, longest_side), Image.Resampling.LANCZOS)
    # Pillow writes back what the decoder kept in `info` (a JPEG's COM comment
    # among it): the copy carries the pixels alone, and the profile only if given.
    copy.info = {}
    buffer = io.BytesIO()
    extra = {"icc_profile": colour_profile} if colour_profile else {}
    copy.save(buffer, format="JPEG", quality=85, optimize=True, progressive=True, **extra)
    return ContentFile(buffer.getvalue()), copy.size


def _rgb_colour_profile(image: Image.Image) -> bytes | None:
    """The upload's ICC profile if it describes RGB, as what we store does (bytes
    16-19 of the header name the colour space); a CMYK or grey profile would
    misdescribe the converted pixels, and browsers read a photo without one as sRGB."""
    profile = image.info.get("icc_profile")
    if (
        isinstance(profile, bytes)
        and 128 <= len(profile) <= ICC_PROFILE_MAX_BYTES
        and profile[16:20] == b"RGB "
    ):
        return profile
    return None


def _flatten(image: Image.Image) -> Image.Image:
    """JPEG has no transparency: put transparent images on white."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def too_big_message() -> str:
    """The refusal of a file over the upload limit, said by the server and, before
    a byte is sent, by the page's script (templates/dashboard/_photo_form.html)."""
    limit_mb = settings.PHOTO_MAX_UPLOAD_BYTES // (1024 * 1024)
    return f"That file is over {limit_mb} MB; choose a smaller photo."


def process_upload(upload) -> ProcessedImage:
    """Check a file-like upload and return the re-encoded photo and thumbnail.

    Refuses, with a message a seller understands: files over the size limit,
    anything that is not a real JPEG, PNG or WebP, images over the pixel limit
    (decompression bombs) and files that do not decode completely.
    """
    size = getattr(upload, "size", None)
    if size is None:
        upload.seek(0, io.SEEK_END)
        size = upload.tell()
    if size > settings.PHOTO_MAX_UPLOAD_BYTES:
        raise ImageRefused(too_big_message())
    if size == 0:
        raise ImageRefused("That file is empty.")
    upload.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(upload)
            if image.format not in ACCEPTED_FORMATS:
                raise ImageRefused("Only JPEG, PNG or WebP photos are accepted.")
            width, height = image.size
            if width * height > settings.PHOTO_MAX_PIXELS:
                raise ImageRefused(
                    f"That image is {width}×{height} pixels; the limit is "
                    f"{settings.PHOTO_MAX_PIXELS // 1_000_000} megapixels."
                )
            image.load()
    except ImageRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRefused("That image is too large to open safely.") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageRefused("That file is not a readable JPEG, PNG or WebP image.") from exc
    colour_profile = _rgb_colour_profile(image)
    image = _flatten(ImageOps.exif_transpose(image))
    full, (out_width, out_height) = _encode(image, settings.PHOTO_SIZE, colour_profile)
    thumbnail, _ = _encode(image, settings.PHOTO_THUMB_SIZE, colour_profile)
    return ProcessedImage(
        name=f"{new_ulid().lower()}.jpg",
        image=full,
        thumbnail=thumbnail,
        width=out_width,
        height=out_height,
    )
