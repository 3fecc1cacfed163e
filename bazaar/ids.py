"""Public identifiers: ULIDs in URLs and pages, never the bigint primary key."""

from django.db import models
from django.urls import register_converter
from ulid import PureRandomPolicy, ULIDGenerator

ULID_PATTERN = "[0-9A-HJKMNP-TV-Z]{26}"

# Eighty fresh bits from os.urandom for every id (ASVS V6.3.2). python-ulid's default
# counts up within a millisecond, so one id gave away the next ones its process made
# in that millisecond. Ids therefore order by the millisecond only: what needs the
# order of creation within one (which offer of a thread is the latest) orders by the
# primary key.
_generator = ULIDGenerator(policy=PureRandomPolicy())


def new_ulid() -> str:
    return str(_generator.generate())


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
