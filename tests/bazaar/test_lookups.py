"""bazaar.lookups.AnyOf: IN for long lists, one array parameter on PostgreSQL."""

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from bazaar.lookups import AnyOf


@pytest.mark.django_db
def test_any_of_finds_what_in_finds_and_on_postgresql_is_one_statement_whatever_the_length(
    make_user,
):
    people = [make_user(f"any{n}") for n in range(5)]
    wanted = {people[1].pk, people[3].pk, -1}
    handles = {people[0].handle, people[4].handle}
    with CaptureQueriesContext(connection) as queries:
        by_id = set(User.objects.filter(AnyOf(F("id"), wanted)).values_list("pk", flat=True))
        by_handle = set(
            User.objects.filter(AnyOf(F("handle"), handles)).values_list("handle", flat=True)
        )
        one = list(User.objects.filter(AnyOf(F("id"), [people[2].pk])).values_list("pk", flat=True))
    assert by_id == {people[1].pk, people[3].pk} and by_handle == handles and one == [people[2].pk]
    if connection.vendor == "postgresql":
        first, _, third = (query["sql"] for query in queries.captured_queries)
        assert "= ANY(" in first
        assert first.split("ANY(")[0] == third.split("ANY(")[0]
