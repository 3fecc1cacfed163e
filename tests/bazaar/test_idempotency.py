import pytest
from django.template import Context, Template
from django.test import RequestFactory

from bazaar.errors import Invalid
from bazaar.idempotency import key_from_request, new_key


def test_key_comes_from_the_header_or_the_form_field():
    key = new_key()
    factory = RequestFactory()
    assert key_from_request(factory.post("/", HTTP_IDEMPOTENCY_KEY=key)) == key
    assert key_from_request(factory.post("/", {"idempotency_key": key})) == key


@pytest.mark.parametrize("bad", ["", "short", "x" * 65, "has spaces in it here", "ü" * 20])
def test_missing_or_malformed_key_is_refused_with_a_message(bad):
    with pytest.raises(Invalid, match="idempotency key"):
        key_from_request(RequestFactory().post("/", {"idempotency_key": bad}))


def test_each_rendered_form_gets_its_own_key():
    template = Template("{% load idempotency %}{% idempotency_field %}")
    first, second = template.render(Context()), template.render(Context())
    assert 'name="idempotency_key"' in first and first != second
