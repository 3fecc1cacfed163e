"""PostgreSQL's side of search: the stored, weighted tsvector, stemming, stop words,
and the GIN index (these run in CI's PostgreSQL flavour; SQLite runs skip them)."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection

from discovery.selectors import SearchFilters, item_search
from stalls.models import Item
from stalls.selectors import items_matching, search_words

pytestmark = pytest.mark.django_db


def titles(text: str) -> set[str]:
    filters = SearchFilters(words=tuple(search_words(text)))
    return {card.item.title for card in item_search(filters=filters, viewer=AnonymousUser()).cards}


def document(item) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT search_document::text FROM stalls_item WHERE id = %s", [item.pk])
        return cursor.fetchone()[0]


def test_the_document_is_a_weighted_tsvector_the_database_keeps(require_postgres, catalogue):
    text = document(catalogue["brass"])
    assert "'brass':1A" in text  # title
    assert "'anglepois':" in text and "B" in text.split("'anglepois':")[1][:4]  # brand
    assert "'light':" in text  # category label, "Lamps & Lighting"
    assert "'rewir':" in text  # description
    # Written by the database, so a bulk update (no service involved) refreshes it.
    Item.objects.filter(pk=catalogue["brass"].pk).update(title="Copper desk lamp")
    assert "'copper':1A" in document(catalogue["brass"])
    assert titles("copper") == {"Copper desk lamp"}


def test_words_are_stemmed_and_stop_words_left_out(require_postgres, catalogue):
    assert titles("teapots") == {"Enamel teapot"}
    assert titles("the teapot") == {"Enamel teapot"}
    assert titles("adjusting") == {"Brass desk lamp"}  # "Adjustable", stemmed alike


def test_the_gin_index_answers_a_search(require_postgres, catalogue):
    match, _ = items_matching(words=["teapot"])
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    plan = Item.objects.filter(match).explain()
    assert "item_search_gin" in plan
