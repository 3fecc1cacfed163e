"""`bazaar.prepared`: a queryset compiled once gives what the queryset gives."""

from contextlib import nullcontext
from datetime import timedelta

import pytest
from django.db import transaction
from django.db.models import signals
from django.db.transaction import TransactionManagementError
from django.utils import timezone

from bazaar.prepared import LONGEST_LIST_KEPT, Prepared, PreparedInsert, PreparedUpdate
from stalls.models import Item, Reservation

pytestmark = pytest.mark.django_db


@pytest.fixture
def items(stall, make_item):
    return [make_item(stall, title=title) for title in ("Brass lamp", "Tin cup")]


ITEMS = Prepared(
    lambda by, public_id: Item.objects.select_related("stall__seller__user").filter(
        **{by: public_id}
    )
)


def test_model_rows_are_the_querysets_with_their_joined_rows(items, django_assert_num_queries):
    for item in items:
        expected = Item.objects.get(pk=item.pk)
        with django_assert_num_queries(1):
            (found,) = ITEMS.rows(item.public_id, shape=("public_id",))
            assert found.stall.seller.user.handle == "seller"
        assert found == expected
        assert found.created_at == expected.created_at  # converted as the ORM does
        assert found.title == expected.title
        assert not found._state.adding
    assert ITEMS.rows("no-such-item", shape=("public_id",)) == []


def test_model_rows_carry_their_annotations(items):
    """An annotation (here a subquery with a value of the caller's) is set on each row,
    as the queryset sets it."""
    from django.db.models import F

    with_stock = Prepared(
        lambda pk: Item.objects.filter(pk__gte=pk).annotate(left=F("inventory") - 1).order_by("pk")
    )
    found = with_stock.rows(items[0].pk)
    expected = list(Item.objects.filter(pk__gte=items[0].pk).annotate(left=F("inventory") - 1))
    assert [item.left for item in found] == [item.left for item in expected]
    assert [item.title for item in found] == ["Brass lamp", "Tin cup"]


def test_first_is_the_first_row_or_none(items):
    by_title = Prepared(lambda title: Item.objects.filter(title=title).order_by("pk")[:1])
    assert by_title.first("Tin cup") == items[1]
    assert by_title.first("No such thing") is None


def test_tuple_rows_and_integer_values(items):
    titles = Prepared(
        lambda first_pk: (
            Item.objects.filter(pk__gte=first_pk).order_by("pk").values_list("pk", "title")
        )
    )
    assert titles.rows(items[0].pk) == [(items[0].pk, "Brass lamp"), (items[1].pk, "Tin cup")]
    assert titles.rows(items[1].pk) == [(items[1].pk, "Tin cup")]


def test_a_value_that_does_not_reach_the_sql_is_refused(items):
    ignores_it = Prepared(lambda title: Item.objects.filter(title__contains=title))
    with pytest.raises(ValueError, match="unchanged"):
        ignores_it.rows("lamp")


@pytest.mark.django_db(transaction=True)
def test_a_locking_read_still_needs_a_transaction(items):
    locked = Prepared(lambda pk: Item.objects.select_for_update().filter(pk=pk))
    with transaction.atomic():
        assert locked.rows(items[0].pk) == [items[0]]
    with pytest.raises(TransactionManagementError):
        locked.rows(items[0].pk)


def test_date_time_values_compare_as_the_orms_do(items):
    from datetime import timedelta

    from django.utils import timezone

    added_since = Prepared(
        lambda since: Item.objects.filter(created_at__gte=since).order_by("pk").values_list("pk")
    )
    now = timezone.now()
    assert added_since.rows(now - timedelta(hours=1)) == [(item.pk,) for item in items]
    assert added_since.rows(now + timedelta(hours=1)) == []


def test_a_list_of_ids_is_compiled_once_per_length(stall, make_item):
    items = [make_item(stall, title=f"Thing {number}") for number in range(3)]
    titles = Prepared(
        lambda ids: Item.objects.filter(pk__in=ids).order_by("pk").values_list("title", flat=True)
    )
    ids = [item.pk for item in items]
    assert titles.rows(ids[:2]) == [("Thing 0",), ("Thing 1",)]
    assert titles.rows(ids[1:]) == [("Thing 1",), ("Thing 2",)]  # the same SQL, new values
    assert titles.rows(ids) == [("Thing 0",), ("Thing 1",), ("Thing 2",)]
    assert titles.rows([ids[2]]) == [("Thing 2",)]
    assert len(titles._compiled) == 3  # one per length
    many = ids + [0] * LONGEST_LIST_KEPT  # too long to keep compiled: right all the same
    assert titles.rows(many) == [("Thing 0",), ("Thing 1",), ("Thing 2",)]
    assert len(titles._compiled) == 3
    with pytest.raises(TypeError, match="not empty"):
        titles.rows([])
    with pytest.raises(TypeError, match="whole numbers"):
        titles.rows(["a"])


def test_a_prepared_insert_stores_what_create_stores(items, django_assert_num_queries):
    """Each row as `objects.create` would store it (defaults, foreign keys, date-times
    adapted, the returned primary key), with Django's SQL compiled at the first call
    and one statement each."""
    item, buyer = items[0], items[0].stall.seller.user
    new_reservation = PreparedInsert(Reservation)
    made = []
    for quantity in (1, 2):
        with django_assert_num_queries(1) as queries:
            made.append(
                new_reservation.create(
                    item=item,
                    holder=buyer,
                    reason=Reservation.Reason.OFFER,
                    quantity=quantity,
                    reference=f"ref-{quantity}",
                    expires_at=timezone.now() + timedelta(hours=1),
                )
            )
        assert queries.captured_queries[0]["sql"].startswith("INSERT INTO")
    same = Reservation.objects.create(
        item=item,
        holder=buyer,
        reason=Reservation.Reason.OFFER,
        quantity=3,
        reference="ref-3",
        expires_at=made[0].expires_at,
    )
    for reservation in made:
        stored = Reservation.objects.get(pk=reservation.pk)
        assert not reservation._state.adding and reservation._state.db == "default"
        assert (stored.item_id, stored.holder_id, stored.reference) == (
            item.pk,
            buyer.pk,
            reservation.reference,
        )
        assert stored.expires_at == reservation.expires_at
        assert stored.created_at == reservation.created_at  # the model's default
        assert (stored.released_at, stored.consumed_at) == (same.released_at, same.consumed_at)
    assert made[0].pk < made[1].pk < same.pk


def test_a_model_with_save_listeners_is_saved_by_save(items):
    heard = []

    def listener(sender, instance, created, **kwargs):
        heard.append((instance.pk, created))

    signals.post_save.connect(listener, sender=Reservation, dispatch_uid="test-prepared")
    try:
        reservation = PreparedInsert(Reservation).create(
            item=items[0],
            holder=items[0].stall.seller.user,
            reason=Reservation.Reason.OFFER,
            quantity=1,
            expires_at=timezone.now(),
        )
    finally:
        signals.post_save.disconnect(sender=Reservation, dispatch_uid="test-prepared")
    assert heard == [(reservation.pk, True)]


@pytest.mark.parametrize("listened", [False, True])
def test_an_insert_ignoring_conflicts_returns_none_for_a_row_already_held(
    make_user, listened, django_assert_num_queries
):
    """`ON CONFLICT DO NOTHING`: the row a unique constraint holds is left as it was,
    one statement, no error (and the same through `save` for a model listened to)."""
    from notifications.models import Notice

    owner = make_user("owner")
    new_notice = PreparedInsert(Notice, ignore_conflicts=True)
    fields = dict(recipient=owner, kind="outbid", title="first", url="/", dedupe_key="k")
    if listened:
        signals.post_save.connect(lambda **kw: None, sender=Notice, dispatch_uid="test-ignore")
    try:
        first = new_notice.create(public_id="01PREPAREDIGNORE0000000001", **fields)
        with nullcontext() if listened else django_assert_num_queries(2):
            again = new_notice.create(public_id="01PREPAREDIGNORE0000000001", **fields)
            same_key = new_notice.create(public_id="01PREPAREDIGNORE0000000002", **fields)
        other = new_notice.create(
            public_id="01PREPAREDIGNORE0000000003", **{**fields, "dedupe_key": ""}
        )
    finally:
        signals.post_save.disconnect(sender=Notice, dispatch_uid="test-ignore")
    assert again is None and same_key is None
    assert first.pk and other.pk and not other._state.adding
    assert sorted(Notice.objects.values_list("public_id", flat=True)) == [
        first.public_id,
        other.public_id,
    ]


def test_an_insert_not_read_back_stores_the_row_and_asks_nothing_back(
    items, django_assert_num_queries
):
    """`read_back=False`: no `RETURNING` (so in a pipeline nothing waits for it); the
    row is stored as `create` stores it, and comes back without its primary key."""
    from stalls.models import StockEvent

    stock_event = PreparedInsert(StockEvent, read_back=False)
    with django_assert_num_queries(1) as statements:
        event = stock_event.create(item=items[0], kind=StockEvent.Kind.RELEASED, quantity=2)
    assert "RETURNING" not in statements.captured_queries[0]["sql"].upper()
    assert event.pk is None and not event._state.adding
    stored = StockEvent.objects.get(item=items[0], kind=StockEvent.Kind.RELEASED)
    assert (stored.quantity, stored.occurred_at) == (2, event.occurred_at)


def test_an_insert_ignoring_conflicts_must_read_its_answer():
    from notifications.models import Notice

    with pytest.raises(TypeError, match="known only from the INSERT's answer"):
        PreparedInsert(Notice, ignore_conflicts=True, read_back=False)


def test_a_prepared_update_changes_what_the_querysets_update_changes(
    items, django_assert_num_queries
):
    """Values in the filter and in the changes, date-times compared as the ORM does,
    the rows changed counted, one statement each, compiled once per shape."""
    retitled = PreparedUpdate(
        lambda count, *values: (
            Item.objects.filter(pk__in=values[:count], created_at__lte=values[count]),
            {"title": values[count + 1], "inventory": 7},
        )
    )
    later = timezone.now() + timedelta(hours=1)
    with django_assert_num_queries(1):
        assert retitled.run(items[0].pk, later, "Copper lamp", shape=(1,)) == 1
    assert retitled.run(items[0].pk, items[1].pk, later, "Pewter", shape=(2,)) == 2
    assert retitled.run(items[0].pk, timezone.now() - timedelta(hours=1), "Gone", shape=(1,)) == 0
    with django_assert_num_queries(1):
        assert retitled.send(items[1].pk, later, "Brass", shape=(1,)) is None
    assert len(retitled._compiled) == 2
    titles = [(i.title, i.inventory) for i in Item.objects.order_by("pk")]
    assert titles == [("Pewter", 7), ("Brass", 7)]


def test_a_prepared_update_of_a_joined_filter_is_refused(items):
    by_seller = PreparedUpdate(
        lambda handle: (Item.objects.filter(stall__seller__user__handle=handle), {"title": "x"})
    )
    with pytest.raises(TypeError, match="one table"):
        by_seller.run("seller")
