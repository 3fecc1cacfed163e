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
# Chat messages keep python-ulid's counting up: a room's conversation is ordered by
# id everywhere (the document, the client, scrolling back), one process's messages
# of one millisecond must keep the order they were written in, and a chat id names a
# message everyone in the room reads (a held one is shown only to its author and
# stewards, whoever asks for it by id).
_ordered_generator = ULIDGenerator()


def new_ulid() -> str:
    return str(_generator.generate())


def new_ordered_ulid() -> str:
    """A ULID greater than any this process made before in the same millisecond."""
    return str(_ordered_generator.generate())


class PublicIdField(models.CharField):
    """A unique, immutable ULID assigned on creation."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("default", new_ulid)
        kwargs.update(max_length=26, unique=True, editable=False)
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
