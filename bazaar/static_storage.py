"""Static files as WhiteNoise serves them, with each file's URL remembered.

A page names its stylesheets and scripts through `{% static %}`: a stall page 18 of
them, each a look-up in the manifest, a `urljoin` and an unquote, ~25 µs apiece (0.45
ms of a page, docs/decisions.md, session pages5). The manifest is read once when the
storage is made and the storage is made again when the settings it reads change, so
a name's URL is the same for the storage's life; only `DEBUG` (unhashed names) is read
per call, so it is part of the key.
"""

from django.conf import settings
from whitenoise.storage import CompressedManifestStaticFilesStorage


class RememberedURLStaticFilesStorage(CompressedManifestStaticFilesStorage):
    """WhiteNoise's compressed manifest storage, answering `url()` once per name."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._urls: dict[tuple[str, bool, bool], str] = {}

    def url(self, name: str, force: bool = False) -> str:
        key = (name, force, settings.DEBUG)
        url = self._urls.get(key)
        if url is None:
            # A name missing from the manifest raises here, every time: nothing kept.
            url = self._urls[key] = super().url(name, force)
        return url
