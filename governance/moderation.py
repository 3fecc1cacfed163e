"""Banned words in chat: which of them a text contains.

Matching rules, on text normalized the same way as the words (NFKD, combining marks and
invisible format characters dropped, case-folded):

- whole words only: "class" is not "ass", "Scunthorpe" is not flagged; digits and the
  leetspeak symbols @ and $ count as letters at word edges, and a match made only of
  digits and symbols ("455", a price) is not a word;
- letters may repeat ("fuuuck", "fuckkk") and may be written in leetspeak (0 o, 1 i/l,
  3 e, 4 a, 5 s, 7 t, @ a, $ s);
- a word may be spelled out with one space or punctuation mark between *every* two
  letters ("f.u.c.k", "f u c k", "f-u-c-k", "f*u*c*k"), not between some of them only, so
  that "let's hit" is not "shit"; apostrophes never separate, so "he'll" is not "hell".

One regex is compiled per banned-word list, its branches grouped by first letter behind
a leading character class so the search skips most positions in C. The list is kept in
Django's cache (5 minutes, shared by every process) with a digest; each process keeps
the pattern compiled for the digest it last saw. Services refresh the shared copy after
a change commits (`matcher_refresh`).
"""

import hashlib
import re
import unicodedata
from dataclasses import dataclass

from django.core.cache import cache

from .selectors import banned_word_list

BANNED_WORDS_CACHE_KEY = "moderation:banned-words"
BANNED_WORDS_CACHE_SECONDS = 300
WORD_MIN_LETTERS = 2

# What else may stand for a letter.
LEET = {"a": "4@", "e": "3", "i": "1", "l": "1", "o": "0", "s": "5$", "t": "7"}
# One of these between every two letters spells a word out. No apostrophe ("he'll").
_SEPARATOR = r"[\s.,;:!?\-_*+~/\\|#^=]"
# A letter-like character: a letter or digit (not "_"), or a leetspeak symbol.
_LETTER_AFTER = r"(?![^\W_])(?![@$])"
_LETTER_TWO_BACK = r"(?<![^\W_].)(?<![@$].)"
_INVISIBLE = frozenset({"Mn", "Me", "Cf"})
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def text_normalize(text: str) -> str:
    """Fold case, accents, compatibility forms (fullwidth letters, ligatures) and drop
    invisible characters (zero-width spaces, soft hyphens)."""
    if not text.isascii():
        text = _NON_ASCII.sub(_strip_marks, text)
    return text.casefold()


def _strip_marks(run: re.Match) -> str:
    decomposed = unicodedata.normalize("NFKD", run.group())
    return "".join(c for c in decomposed if unicodedata.category(c) not in _INVISIBLE)


def word_key(word: str) -> str:
    """The form two banned words are compared by: "Fück" and "fuck" are one word."""
    return text_normalize(word.strip())


def word_is_valid(key: str) -> bool:
    return len(key) >= WORD_MIN_LETTERS and key.isalpha()


def text_flags(text: str) -> list[str]:
    """The banned words in `text`, as stewards spelled them, in order of first
    appearance; an empty list when the text is clean."""
    if not text:
        return []
    return matcher_current().flags(text)


# The compiled matcher


@dataclass(frozen=True)
class Matcher:
    digest: str
    pattern: re.Pattern | None
    words: dict[str, str]  # group name -> canonical word

    def flags(self, text: str) -> list[str]:
        if self.pattern is None:
            return []
        found: dict[str, None] = {}
        for match in self.pattern.finditer(text_normalize(text)):
            if any(c.isalpha() for c in match.group()):
                found.setdefault(self.words[match.lastgroup], None)
        return list(found)


_local: Matcher | None = None


def matcher_current() -> Matcher:
    """The matcher for the current list: shared list from the cache (or the database),
    compiled pattern from this process's memory when the digest has not changed."""
    global _local  # one compiled pattern per process, replaced whole
    cached = cache.get(BANNED_WORDS_CACHE_KEY)
    if cached is None:
        words = tuple(banned_word_list())
        digest = _digest(words)
        # add, not set: a refresh that committed meanwhile must win over this read.
        cache.add(BANNED_WORDS_CACHE_KEY, (digest, words), BANNED_WORDS_CACHE_SECONDS)
    else:
        digest, words = cached
    local = _local
    if local is None or local.digest != digest:
        local = _local = matcher_compile(words, digest=digest)
    return local


def matcher_refresh() -> None:
    """After a change to the list has committed: store the new list for every process,
    and forget this process's pattern."""
    global _local
    _local = None
    words = tuple(banned_word_list())
    cache.set(BANNED_WORDS_CACHE_KEY, (_digest(words), words), BANNED_WORDS_CACHE_SECONDS)


def _digest(words: tuple[str, ...]) -> str:
    return hashlib.blake2b("\n".join(words).encode(), digest_size=16).hexdigest()


def matcher_compile(words, *, digest: str = "") -> Matcher:
    """One regex for the whole list. Words that normalize alike are matched once, under
    the first one's spelling; words that are not letters only are left out."""
    keys: dict[str, str] = {}
    for word in words:
        key = word_key(word)
        if word_is_valid(key):
            keys.setdefault(key, word)
    if not keys:
        return Matcher(digest=digest, pattern=None, words={})
    names: dict[str, str] = {}
    by_first: dict[str, list[str]] = {}
    for number, (key, word) in enumerate(keys.items()):
        name = f"w{number}"
        names[name] = word
        by_first.setdefault(key[0], []).append(_word_rest(name, key))
    firsts = "".join(sorted({c for first in by_first for c in first + LEET.get(first, "")}))
    branches = "|".join(
        f"(?<={_letter(first)})(?:{'|'.join(rests)})" for first, rests in by_first.items()
    )
    # Consume the first letter, check the character before it is no letter, then
    # dispatch on which letter it was.
    pattern = f"[{_escape_class(firsts)}]{_LETTER_TWO_BACK}(?:{branches}){_LETTER_AFTER}"
    return Matcher(digest=digest, pattern=re.compile(pattern), words=names)


def _word_rest(name: str, key: str) -> str:
    """The pattern for a word whose first character has been consumed: run-together
    ("fuuck", runs of a letter collapse to at least as many) or spelled out."""
    runs: list[list] = []
    for c in key:
        if runs and runs[-1][0] == c:
            runs[-1][1] += 1
        else:
            runs.append([c, 1])
    first, first_count = runs[0]
    together = _letter(first) + ("*" if first_count == 1 else f"{{{first_count - 1},}}")
    together += "".join(
        _letter(c) + ("+" if count == 1 else f"{{{count},}}") for c, count in runs[1:]
    )
    spelled = _letter(key[0]) + "*" + "".join(f"{_SEPARATOR}{_letter(c)}+" for c in key[1:])
    return f"(?P<{name}>{together}|{spelled})"


def _letter(c: str) -> str:
    chars = c + LEET.get(c, "")
    return f"[{_escape_class(chars)}]" if len(chars) > 1 else re.escape(c)


def _escape_class(chars: str) -> str:
    return "".join("\\" + c if c in "\\]^-[" else c for c in chars)
