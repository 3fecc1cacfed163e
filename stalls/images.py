"""Checking and re-encoding uploaded photos.

An upload is trusted only after Pillow has decoded it: the name and the
browser's content type are ignored. What we store is our own re-encoding, so
metadata (GPS, camera serials) and anything smuggled in the file are gone.
"""

import io
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from PIL import Image, ImageOps, UnidentifiedImageError

from bazaar.ids import new_ulid

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP"}


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


def _encode(image: Image.Image, longest_side: int) -> tuple[ContentFile, tuple[int, int]]:
    copy = image.copy()
    copy.thumbnail((longest_side, longest_side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    copy.save(buffer, format="JPEG", quality=85, optimize=True, progressive=True)
    return ContentFile(buffer.getvalue()), copy.size


def _flatten(image: Image.Image) -> Image.Image:
    """JPEG has no transparency: put transparent images on white."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


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
    limit_mb = settings.PHOTO_MAX_UPLOAD_BYTES // (1024 * 1024)
    if size > settings.PHOTO_MAX_UPLOAD_BYTES:
        raise ImageRefused(f"That file is over {limit_mb} MB; choose a smaller photo.")
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
    image = _flatten(ImageOps.exif_transpose(image))
    full, (out_width, out_height) = _encode(image, settings.PHOTO_SIZE)
    thumbnail, _ = _encode(image, settings.PHOTO_THUMB_SIZE)
    return ProcessedImage(
        name=f"{new_ulid().lower()}.jpg",
        image=full,
        thumbnail=thumbnail,
        width=out_width,
        height=out_height,
    )
