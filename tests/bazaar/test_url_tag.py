"""`{% url %}` remembers its answers (bazaar/templatetags/urls.py) and answers as
Django's tag does: per view name and arguments, URLconf, script prefix and namespace."""

import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import NoReverseMatch, reverse, set_script_prefix

from bazaar.templatetags import urls
from bazaar.templatetags.urls import _reversed

ITEM = "01M972QNA3P1DM2G746BTWTZYF"


@pytest.fixture(autouse=True)
def _forget():
    _reversed.cache_clear()
    yield
    _reversed.cache_clear()


def render(source: str, **context) -> str:
    return Template(source).render(Context(context))


@pytest.fixture
def reversals(monkeypatch):
    """How many times the tag reversed (rather than remembered)."""
    calls = []

    def counted(*args, **kwargs):
        calls.append(args)
        return reverse(*args, **kwargs)

    monkeypatch.setattr(urls, "reverse", counted)
    return calls


def test_a_url_is_reversed_once_and_remembered(reversals):
    source = "{% url 'orders:cart_button' item %} {% url 'orders:cart_add' %}"
    first = render(source, item=ITEM)
    assert first == f"{reverse('orders:cart_button', args=[ITEM])} {reverse('orders:cart_add')}"
    assert render(source, item=ITEM) == first
    assert len(reversals) == 2
    assert render(source, item="01M972QNA3P1DM2G746BTWTZYG") != first
    assert len(reversals) == 3


def test_the_script_prefix_is_part_of_the_answer():
    assert render("{% url 'orders:cart_add' %}") == "/cart/add/"
    set_script_prefix("/market-app/")
    try:
        assert render("{% url 'orders:cart_add' %}") == "/market-app/cart/add/"
    finally:
        set_script_prefix("/")


def test_another_urlconf_is_another_answer(settings):
    before = render("{% url 'orders:cart_add' %}")
    settings.ROOT_URLCONF = "tests.bazaar.urls_elsewhere"
    assert render("{% url 'orders:cart_add' %}") == "/elsewhere/cart/add/" != before


def test_what_django_refuses_it_refuses_and_as_a_variable_it_is_empty():
    with pytest.raises(NoReverseMatch):
        render("{% url 'orders:cart_button' %}")
    assert render("{% url 'orders:cart_button' as link %}[{{ link }}]") == "[]"


def test_other_arguments_are_reversed_as_django_does(reversals):
    assert render("{% url 'market:section' x=1 y=2 %}") == reverse("market:section", args=[1, 2])
    request = RequestFactory().get("/")
    assert render("{% url 'orders:cart_button' item %}", item=ITEM, request=request)
    assert render("{% url 'market:section' t t %}", t=True) == "/market/True/True/"
    assert render("{% url 'market:section' 1 1 %}") == "/market/1/1/"
    assert len(reversals) == 2  # the keywords and True went to Django's tag


def test_the_url_is_escaped_as_the_tag_escapes_it():
    source = "{% url 'discovery:search' %}?q={{ q }}"
    assert render(source, q="<b>") == "/search/?q=&lt;b&gt;"
