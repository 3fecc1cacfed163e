"""`{% kept %}`: a fragment rendered once for everyone until a scope of its family
changes, with `{% unkept %}` holes rendered for each request and each viewer's own
CSRF token (bazaar.templatetags.kept)."""

import pytest
from django.template import Context, Engine, TemplateSyntaxError

from bazaar.cache import changed_on_commit, register_family_scope

pytestmark = pytest.mark.django_db

engine = Engine(libraries={"kept": "bazaar.templatetags.kept"})


@pytest.fixture(autouse=True)
def shelf_family():
    register_family_scope("shelf", lambda member: f"shelf-things:{member}")


@pytest.fixture(autouse=True)
def nothing_remembered():
    """{% remembered %} markup lives as long as the process: each test starts without."""
    from bazaar.templatetags import kept

    kept._remembered.clear()


def render(source: str, **context) -> str:
    return engine.from_string("{% load kept %}" + source).render(Context(context))


KEPT = (
    '{% kept "shelf" for "shelf" shelf.id vary shelf.name %}'
    "{{ shelf.name }} holds {{ shelf.things }}"
    "{% unkept %}, seen by {{ viewer }}{% endunkept %}"
    "{% endkept %}"
)


def shelf(things: int, name: str = "Lamps") -> dict:
    return {"id": 1, "name": name, "things": things}


def test_the_kept_part_is_rendered_once_and_the_holes_each_time():
    assert render(KEPT, shelf=shelf(3), viewer="ann") == "Lamps holds 3, seen by ann"
    assert render(KEPT, shelf=shelf(4), viewer="bob") == "Lamps holds 3, seen by bob"


def test_a_change_in_the_family_renders_it_again(on_commit):
    render(KEPT, shelf=shelf(3), viewer="ann")
    on_commit(changed_on_commit, "shelf-things:1")
    assert render(KEPT, shelf=shelf(4), viewer="ann") == "Lamps holds 4, seen by ann"


def test_a_change_to_another_member_leaves_it(on_commit):
    render(KEPT, shelf=shelf(3), viewer="ann")
    on_commit(changed_on_commit, "shelf-things:2")
    assert render(KEPT, shelf=shelf(4), viewer="ann") == "Lamps holds 3, seen by ann"


def test_what_it_varies_on_is_a_fragment_of_its_own():
    render(KEPT, shelf=shelf(3), viewer="ann")
    assert render(KEPT, shelf=shelf(4, "Clocks"), viewer="ann") == "Clocks holds 4, seen by ann"


def test_each_viewer_gets_their_own_csrf_token():
    source = '{% kept "form" for "shelf" 1 %}<form>{% csrf_token %}</form>{% endkept %}'
    first = render(source, csrf_token="first-token")
    assert first == (
        '<form><input type="hidden" name="csrfmiddlewaretoken" value="first-token"></form>'
    )
    assert "second-token" in render(source, csrf_token="second-token")


def test_a_hole_inside_a_tag_is_refused():
    with pytest.raises(TemplateSyntaxError, match="directly inside"):
        render(
            '{% kept "x" for "shelf" 1 %}'
            "{% if a %}{% unkept %}b{% endunkept %}{% endif %}"
            "{% endkept %}"
        )


@pytest.mark.parametrize(
    "tag",
    ['{% kept "x" %}', '{% kept x for "shelf" 1 %}', '{% kept "x" for "shelf" 1 by y %}'],
)
def test_a_malformed_tag_says_how_it_is_written(tag):
    with pytest.raises(TemplateSyntaxError):
        render(tag + "{% endkept %}")


SHARED_WHEN_GUEST = (
    '{% kept "shelf" for "shelf" shelf.id %}'
    "{{ shelf.things }} things"
    "{% unkept unless not viewer %}; {% if viewer %}hello {{ viewer }}{% else %}"
    "log in, {{ guest_note }}{% endif %}{% endunkept %}"
    "{% endkept %}"
)


def test_a_hole_whose_condition_holds_is_kept_with_the_rest():
    assert render(SHARED_WHEN_GUEST, shelf=shelf(3), viewer="", guest_note="first") == (
        "3 things; log in, first"
    )
    # Kept: the guests' markup is rendered once, its hole with it.
    assert render(SHARED_WHEN_GUEST, shelf=shelf(4), viewer="", guest_note="second") == (
        "3 things; log in, first"
    )


def test_a_hole_whose_condition_fails_is_each_viewers_own():
    render(SHARED_WHEN_GUEST, shelf=shelf(3), viewer="", guest_note="first")
    assert render(SHARED_WHEN_GUEST, shelf=shelf(3), viewer="ann") == "3 things; hello ann"
    assert render(SHARED_WHEN_GUEST, shelf=shelf(3), viewer="bob") == "3 things; hello bob"
    # And the guests' markup is theirs alone: nobody's greeting is kept in it.
    assert render(SHARED_WHEN_GUEST, shelf=shelf(3), viewer="", guest_note="x") == (
        "3 things; log in, first"
    )


def test_a_kept_hole_goes_stale_with_its_family(on_commit):
    render(SHARED_WHEN_GUEST, shelf=shelf(3), viewer="", guest_note="first")
    on_commit(changed_on_commit, "shelf-things:1")
    assert render(SHARED_WHEN_GUEST, shelf=shelf(4), viewer="", guest_note="second") == (
        "4 things; log in, second"
    )


def test_a_kept_hole_holds_each_viewers_csrf_token():
    source = (
        '{% kept "form" for "shelf" 1 %}'
        "{% unkept unless True %}<form>{% csrf_token %}</form>{% endunkept %}"
        "{% endkept %}"
    )
    assert "first-token" in render(source, csrf_token="first-token")
    second = render(source, csrf_token="second-token")
    assert "second-token" in second and "first-token" not in second


@pytest.mark.parametrize("tag", ["{% unkept if a %}", "{% unkept unless %}"])
def test_a_malformed_hole_says_how_it_is_written(tag):
    with pytest.raises(TemplateSyntaxError, match="unless condition"):
        render('{% kept "x" for "shelf" 1 %}' + tag + "b{% endunkept %}{% endkept %}")


REMEMBERED = (
    '{% remembered "greeting" vary name %}hello {{ name }}'
    "{% unkept %}, at {{ hour }}{% endunkept %}{% endremembered %}"
)


def test_remembered_markup_is_rendered_once_per_state_with_its_holes_each_time(monkeypatch):
    from django.template import base

    rendered = []
    render_variable = base.VariableNode.render
    monkeypatch.setattr(
        base.VariableNode,
        "render",
        lambda node, context: (
            rendered.append(str(node.filter_expression)) or render_variable(node, context)
        ),
    )
    assert render(REMEMBERED, name="ann", hour=9) == "hello ann, at 9"
    assert render(REMEMBERED, name="ann", hour=10) == "hello ann, at 10"
    assert rendered.count("name") == 1 and rendered.count("hour") == 2
    assert render(REMEMBERED, name="bob", hour=10) == "hello bob, at 10"


def test_remembered_markup_holds_each_viewers_csrf_token():
    source = '{% remembered "form" vary 1 %}<form>{% csrf_token %}</form>{% endremembered %}'
    assert "first-token" in render(source, csrf_token="first-token")
    second = render(source, csrf_token="second-token")
    assert "second-token" in second and "first-token" not in second


def test_remembered_markup_is_bounded(monkeypatch):
    from bazaar.templatetags import kept

    monkeypatch.setattr(kept, "REMEMBERED_FRAGMENTS", 2)
    for name in ("ann", "bob", "cid"):
        render(REMEMBERED, name=name, hour=9)
    assert len(kept._remembered) <= 2


@pytest.mark.parametrize(
    "tag", ['{% remembered "x" vary %}', "{% remembered x vary y %}", '{% remembered "x" by y %}']
)
def test_a_malformed_remembered_tag_says_how_it_is_written(tag):
    with pytest.raises(TemplateSyntaxError):
        render(tag + "{% endremembered %}")
