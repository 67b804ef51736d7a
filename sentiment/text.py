"""Text tools of the sentiment app, none touching the database: the fingerprint that groups near-duplicate
posts (MinHash with banded locality-sensitive hashing), the term matcher behind 涉警 terms, topics and
places, and the watch lists' keyword expressions.

Near-duplicates: two posts are near-duplicates when the character bigrams of their squeezed texts (no links,
@names, [表情], spaces or punctuation) overlap by a Jaccard index of at least NEAR_JACCARD — a repost with
"转发：" in front, a copy with "求扩散" after, a retelling with a word changed. Eight MinHash values (Broder
1997) estimate the overlap; cut into four bands of two, posts that share a band are the candidates (for a
Jaccard of 0.6 they share one with a probability of 0.83, for 0.8 of 0.98), looked up with four indexed
equality probes and checked exactly on their texts.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from django.utils.translation import gettext as _

NEAR_JACCARD = 0.5
_ROWS = 2  # MinHash values per band
_BANDS = 4
_rng = np.random.default_rng(20261207)  # fixed: the bands of a stored post must be reproducible
_A = _rng.integers(1, 2**63, size=_ROWS * _BANDS, dtype=np.uint64) | np.uint64(1)
_B = _rng.integers(0, 2**63, size=_ROWS * _BANDS, dtype=np.uint64)
_SQUEEZE = re.compile(r"[\W_]+", re.UNICODE)
_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_MENTION = re.compile(r"(//)?@[\w\-·]{1,30}[:：]?")
_EMOTICON = re.compile(r"\[[^\[\]\s]{1,8}\]")


def squeeze(text: str) -> str:
    """What the fingerprint reads: no links, @names, [表情], spaces or punctuation; lower case."""
    text = _EMOTICON.sub("", _MENTION.sub("", _URL.sub("", text)))
    return _SQUEEZE.sub("", text).lower()


def shingles(text: str) -> set[str]:
    s = squeeze(text)
    return {s[i : i + 2] for i in range(len(s) - 1)} if len(s) > 1 else {s}


def jaccard(a: str, b: str) -> float:
    x, y = shingles(a), shingles(b)
    return len(x & y) / len(x | y) if x or y else 1.0


def bands(text: str) -> tuple[int, int, int, int]:
    """The four LSH bands of the text's MinHash signature, each a non-negative 31-bit integer."""
    hashes = np.fromiter(
        (int.from_bytes(hashlib.blake2b(x.encode(), digest_size=8).digest(), "little") for x in shingles(text)),
        dtype=np.uint64,
    )
    with np.errstate(over="ignore"):
        signature = (hashes[:, None] * _A[None, :] + _B[None, :]).min(axis=0) >> np.uint64(32)
    sig = [int(v) for v in signature]
    out = []
    for b in range(_BANDS):
        part = sig[b * _ROWS : (b + 1) * _ROWS]
        digest = hashlib.blake2b(b"%d:%d:%d" % (b, part[0], part[1]), digest_size=4).digest()
        out.append(int.from_bytes(digest, "little") & 0x7FFFFFFF)
    return out[0], out[1], out[2], out[3]


# --- Terms ---------------------------------------------------------------------------------------------------


class Terms:
    """Finds every listed term in a text in one regex pass, longest first (入室盗窃 before 盗窃)."""

    def __init__(self, terms: Iterable[str]):
        unique = sorted({t.strip().lower() for t in terms if t.strip()}, key=lambda t: (-len(t), t))
        self.pattern = re.compile("|".join(re.escape(t) for t in unique)) if unique else None

    def find(self, text: str) -> list[str]:
        """The distinct terms found, in order of first appearance."""
        if self.pattern is None:
            return []
        seen: dict[str, None] = {}
        for m in self.pattern.finditer(text.lower()):
            seen.setdefault(m.group(0), None)
        return list(seen)


# --- Watch expressions -----------------------------------------------------------------------------------------

_TOKEN = re.compile(r'\s*(?:(?P<quoted>"[^"]*"|“[^”]*”)|(?P<open>[(（])|(?P<close>[)）])|(?P<word>[^\s()（）"“”]+))')
_OPS = {
    "and": "AND",
    "与": "AND",
    "且": "AND",
    "&": "AND",
    "or": "OR",
    "或": "OR",
    "|": "OR",
    "not": "NOT",
    "非": "NOT",
}


class ExpressionError(ValueError):
    pass


@dataclass(frozen=True)
class Expression:
    """A compiled watch expression: `match(text)` gives the words that made it true, or None."""

    source: str
    words: tuple[str, ...]
    _test: Callable[[str], bool]

    def match(self, text: str) -> list[str] | None:
        low = text.lower()
        if not self._test(low):
            return None
        return [w for w in self.words if w in low]


def _tokens(source: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    source = source.strip()
    while pos < len(source):
        m = _TOKEN.match(source, pos)
        if m is None or m.end() == pos:
            raise ExpressionError(_("Cannot read the expression near “%(rest)s”.") % {"rest": source[pos : pos + 10]})
        pos = m.end()
        if m.group("quoted"):
            phrase = m.group("quoted")[1:-1].strip().lower()
            if not phrase:
                raise ExpressionError(_("An empty phrase in quotes."))
            out.append(("WORD", phrase))
        elif m.group("open"):
            out.append(("(", "("))
        elif m.group("close"):
            out.append((")", ")"))
        else:
            word = m.group("word")
            op = _OPS.get(word.lower())
            if op:
                out.append((op, word))
            elif word.startswith("-") and len(word) > 1:
                out.extend([("NOT", "-"), ("WORD", word[1:].lower())])
            else:
                out.append(("WORD", word.lower()))
    return out


def _any(parts: list[Callable[[str], bool]]) -> Callable[[str], bool]:
    return lambda t: any(p(t) for p in parts)


def _all(parts: list[Callable[[str], bool]]) -> Callable[[str], bool]:
    return lambda t: all(p(t) for p in parts)


def compile_expression(source: str) -> Expression:
    """Words side by side mean AND; AND/与/且/&, OR/或/|, NOT/非 or -word, brackets, "phrases". An empty
    expression matches nothing. ExpressionError (with the reason, in the reader's language) otherwise."""
    toks = _tokens(source)
    if not toks:
        return Expression(source, (), lambda text: False)
    words: list[str] = []
    pos = 0

    def peek() -> str | None:
        return toks[pos][0] if pos < len(toks) else None

    def take() -> tuple[str, str]:
        nonlocal pos
        pos += 1
        return toks[pos - 1]

    def parse_or() -> Callable[[str], bool]:
        parts = [parse_and()]
        while peek() == "OR":
            take()
            parts.append(parse_and())
        return parts[0] if len(parts) == 1 else _any(parts)

    def parse_and() -> Callable[[str], bool]:
        parts = [parse_not()]
        while peek() in ("AND", "NOT", "WORD", "("):
            if peek() == "AND":
                take()
            parts.append(parse_not())
        return parts[0] if len(parts) == 1 else _all(parts)

    def parse_not() -> Callable[[str], bool]:
        if peek() == "NOT":
            take()
            inner = parse_not()

            def negated(t: str) -> bool:
                return not inner(t)

            return negated
        return parse_atom()

    def parse_atom() -> Callable[[str], bool]:
        kind = peek()
        if kind is None:
            raise ExpressionError(_("The expression ends where a word was expected."))
        k, value = take()
        if k == "(":
            inner = parse_or()
            if peek() != ")":
                raise ExpressionError(_("A bracket is not closed."))
            take()
            return inner
        if k == "WORD":
            words.append(value)
            return lambda t: value in t
        raise ExpressionError(_("“%(op)s” must stand between two words.") % {"op": value})

    test = parse_or()
    if pos < len(toks):
        raise ExpressionError(_("Unexpected “%(token)s”.") % {"token": toks[pos][1]})
    return Expression(source, tuple(dict.fromkeys(words)), test)
