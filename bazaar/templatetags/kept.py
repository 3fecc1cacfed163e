"""`{% kept %}`: a fragment of page rendered once and shared by every viewer until
something it shows changes, with holes (`{% unkept %}`) rendered for each request.

    {% kept "stall-page" for "stall" stall.pk vary stall.name stall.slot %}
      <h1>{{ stall.name }}</h1>
      {% unkept %}{% follow_button stall %}{% endunkept %}
      ...
    {% endkept %}

Rendering the same markup for every viewer was most of a page's CPU. Django's own
`{% cache %}` keeps a fragment for a time; this one keeps it until the change that
makes it stale commits: the fragment goes stale with every scope registered for the
family's member (`bazaar.cache.register_family_scope`: a stall's items, running
auctions, rating), and what is read fresh with the page anyway (the stall's own row)
goes into the key through `vary`. One cache round trip when warm; none where the
page read its family's scopes ahead (`bazaar.cache.kept_and_held_until_any_changed`).

What is the viewer's own stays out of the kept markup:
- an `{% unkept %}` block, a direct child of `{% kept %}` (not inside an `if` or a
  loop there, which would be decided once for everyone), is rendered for each request
  in the page's context and put in its place;
- `{% unkept unless condition %}` (an `{% if %}` condition) is such a hole only where
  the condition is false: where it is true the block looks the same to everyone who
  sees this kept markup (a stage with nothing on it, a guest's Follow button), so it
  is rendered once with the rest. Each hole's condition is in the key: the viewers for
  whom it holds and those for whom it does not each have markup of their own;
- `{% csrf_token %}` inside the kept markup is this request's token: the fragment is
  rendered with a mark where the token goes, and the mark is replaced on the way out.
Marks hold a NUL character, which no text of ours can hold (Django's forms refuse it,
and the HTML sanitiser replaces it), so a seller cannot forge one.
"""

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable

from django import template
from django.template.base import Node, NodeList, TextNode
from django.template.defaulttags import TemplateIfParser

from bazaar.cache import family_scopes, kept_and_held_until_any_changed

register = template.Library()

# A bound for a change made where no service marks its scope (the admin, a shell).
KEPT_FRAGMENT_SECONDS = 60
HOLE_MARK = "\x00kept:hole\x00"
CSRF_MARK = "\x00kept:csrf\x00"
_RENDERING_KEPT = "_rendering_kept_fragment"
# `{% remembered %}` markup per process: a top bar is ~2 KB, so at most a few MB.
REMEMBERED_FRAGMENTS = 2048
_remembered: OrderedDict[tuple[str, str], str] = OrderedDict()
_remembered_lock = threading.Lock()


class UnkeptNode(Node):
    child_nodelists = ("nodelist",)

    def __init__(self, nodelist: NodeList, kept_when=None):
        self.nodelist = nodelist
        self.kept_when = kept_when  # `unless`: the condition under which it is kept

    def is_kept(self, context) -> bool:
        """Whether the block is the same for this viewer as for everyone it is kept for."""
        if self.kept_when is None:
            return False
        try:
            return bool(self.kept_when.eval(context))
        except template.VariableDoesNotExist:
            return False

    def render(self, context) -> str:
        kept = context.get(_RENDERING_KEPT)
        if kept is not None and not kept[self]:
            return HOLE_MARK
        return self.nodelist.render(context)


class _FragmentNode(Node):
    """A block rendered once and shared, with its holes rendered for each request:
    where the rendered markup is kept is the subclass's (`_markup`)."""

    child_nodelists = ("nodelist",)

    def __init__(self, tag: str, vary: list, nodelist: NodeList):
        self.vary, self.nodelist = vary, nodelist
        self.holes = [node for node in nodelist if isinstance(node, UnkeptNode)]
        if len(nodelist.get_nodes_by_type(UnkeptNode)) != len(self.holes):
            raise template.TemplateSyntaxError(
                f"{{% unkept %}} must be directly inside {{% {tag} %}}, not in a tag there: "
                "what decides it would be decided once for every viewer."
            )
        # The kept markup is the block's: a deploy that changes the block is a new key.
        self.fingerprint = _fingerprint(nodelist)

    def render(self, context) -> str:
        kept_holes = {hole: hole.is_kept(context) for hole in self.holes}
        vary = repr([value.resolve(context) for value in self.vary])
        shape = "".join("k" if kept else "h" for kept in kept_holes.values())
        digest = hashlib.md5(f"{self.fingerprint}|{shape}|{vary}".encode(), usedforsecurity=False)
        kept = self._markup(
            context, digest.hexdigest(), lambda: self._render_kept(context, kept_holes)
        )
        holes = [hole for hole, kept in kept_holes.items() if not kept]
        pieces = kept.split(HOLE_MARK)
        if len(pieces) != len(holes) + 1:  # a foreign entry: render it all here
            return self.nodelist.render(context)
        out = [pieces[0]]
        for hole, piece in zip(holes, pieces[1:], strict=True):
            out += [hole.nodelist.render(context), piece]
        return "".join(out).replace(CSRF_MARK, str(context.get("csrf_token", "")))

    def _markup(self, context, digest: str, render: Callable[[], str]) -> str:
        raise NotImplementedError

    def _render_kept(self, context, kept_holes: dict[UnkeptNode, bool]) -> str:
        with context.push({_RENDERING_KEPT: kept_holes, "csrf_token": CSRF_MARK}):
            return self.nodelist.render(context)


class KeptNode(_FragmentNode):
    """Kept in the cache, for every process, until a scope of its family changes; also
    held by the process, so a page that read its family's scopes ahead reads no markup
    from the cache while none changed."""

    def __init__(self, name: str, family: str, member, vary: list, nodelist: NodeList):
        super().__init__("kept", vary, nodelist)
        self.name, self.family, self.member = name, family, member

    def _markup(self, context, digest: str, render: Callable[[], str]) -> str:
        member = self.member.resolve(context)
        return kept_and_held_until_any_changed(
            scopes=family_scopes(self.family, member),
            key=f"fragment:{self.name}:{self.family}:{member}:{digest}",
            read=render,
            timeout=KEPT_FRAGMENT_SECONDS,
        )


class RememberedNode(_FragmentNode):
    """Remembered by this process under what it varies on, which must be everything
    it shows: nothing can make it stale, so it needs no cache round trip and no
    scope; the least recently used go first past REMEMBERED_FRAGMENTS."""

    def __init__(self, name: str, vary: list, nodelist: NodeList):
        super().__init__("remembered", vary, nodelist)
        self.name = name

    def _markup(self, context, digest: str, render: Callable[[], str]) -> str:
        key = (self.name, digest)
        with _remembered_lock:
            markup = _remembered.get(key)
            if markup is not None:
                _remembered.move_to_end(key)
                return markup
        markup = render()
        with _remembered_lock:
            _remembered[key] = markup
            while len(_remembered) > REMEMBERED_FRAGMENTS:
                _remembered.popitem(last=False)
        return markup


def _fingerprint(nodelist: NodeList) -> str:
    """The block's markup and tags, as written: the same in every process."""
    parts = []
    for node in nodelist:
        token = getattr(node, "token", None)
        parts.append(node.s if isinstance(node, TextNode) else type(node).__name__)
        parts.append(token.contents if token is not None else "")
        for attribute in getattr(node, "child_nodelists", ()):
            child = getattr(node, attribute, None)
            if child:
                parts.append(_fingerprint(child))
    return hashlib.md5("\x1f".join(parts).encode(), usedforsecurity=False).hexdigest()


@register.tag("kept")
def do_kept(parser, token) -> KeptNode:
    """`{% kept "name" for "family" member [vary value ...] %}...{% endkept %}`."""
    bits = token.split_contents()
    if len(bits) < 5 or bits[2] != "for" or (len(bits) > 5 and bits[5] != "vary"):
        raise template.TemplateSyntaxError(
            f'Usage: {{% {bits[0]} "name" for "family" member [vary value ...] %}}'
        )
    name, family = (_literal(parser, bit, bits[0]) for bit in (bits[1], bits[3]))
    member = parser.compile_filter(bits[4])
    vary = [parser.compile_filter(bit) for bit in bits[6:]]
    nodelist = parser.parse(("endkept",))
    parser.delete_first_token()
    return KeptNode(name, family, member, vary, nodelist)


@register.tag("remembered")
def do_remembered(parser, token) -> RememberedNode:
    """`{% remembered "name" [vary value ...] %}...{% endremembered %}`: what it shows
    must all be in the values it varies on (or in its holes)."""
    bits = token.split_contents()
    if len(bits) < 2 or len(bits) == 3 or (len(bits) > 3 and bits[2] != "vary"):
        raise template.TemplateSyntaxError(f'Usage: {{% {bits[0]} "name" [vary value ...] %}}')
    name = _literal(parser, bits[1], bits[0])
    vary = [parser.compile_filter(bit) for bit in bits[3:]]
    nodelist = parser.parse(("endremembered",))
    parser.delete_first_token()
    return RememberedNode(name, vary, nodelist)


@register.tag("unkept")
def do_unkept(parser, token) -> UnkeptNode:
    """`{% unkept [unless condition] %}...{% endunkept %}`: rendered for each request,
    inside `{% kept %}`; with `unless`, kept with the rest where `condition` holds."""
    bits = token.split_contents()
    kept_when = None
    if len(bits) > 1:
        if bits[1] != "unless" or len(bits) < 3:
            raise template.TemplateSyntaxError(
                f"Usage: {{% {bits[0]} [unless condition] %}}...{{% end{bits[0]} %}}"
            )
        kept_when = TemplateIfParser(parser, bits[2:]).parse()
    nodelist = parser.parse(("endunkept",))
    parser.delete_first_token()
    return UnkeptNode(nodelist, kept_when)


def _literal(parser, bit: str, tag: str) -> str:
    if len(bit) < 2 or bit[0] != bit[-1] or bit[0] not in "\"'":
        raise template.TemplateSyntaxError(f"{tag}: the name and the family are quoted text")
    return bit[1:-1]
