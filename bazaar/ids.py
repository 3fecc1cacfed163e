"""Public identifiers: ULIDs in URLs and pages, never the bigint primary key."""

from django.db import models
from django.urls import register_converter
from ulid import ULID

ULID_PATTERN = "[0-9A-HJKMNP-TV-Z]{26}"


def new_ulid() -> str:
    return str(ULID())


class PublicIdField(models.CharField):
    """A unique, immutable ULID assigned on creation."""

    def __init__(self, *args, **kwargs):
        kwargs.update(max_length=26, unique=True, editable=False, default=new_ulid)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        for key in ("max_length", "unique", "editable", "default"):
            kwargs.pop(key, None)
        return name, path, args, kwargs


class UlidConverter:
    regex = ULID_PATTERN

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(UlidConverter, "ulid")
