"""A person's own data as plain rows, for the export of their account
(privacy.selectors.account_data_export): each app names the fields of its models that
are that person's, under names a reader understands."""

from django.db.models import QuerySet


def rows(queryset: QuerySet, **columns: str) -> list[dict]:
    """`queryset`'s rows as dicts: each of `columns` (a name for the reader: a field
    path) in that order."""
    return [
        {name: row[path] for name, path in columns.items()}
        for row in queryset.values(*columns.values())
    ]


def row(queryset: QuerySet, **columns: str) -> dict | None:
    """`rows` for what a person has at most one of (a profile, an address); None."""
    found = rows(queryset[:1], **columns)
    return found[0] if found else None
