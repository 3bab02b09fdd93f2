"""Rejects user regexes that can backtrack catastrophically in Java's regex engine.

Spark runs drop rules, endpoint rules and the compiled log formats with ``java.util.regex``, a
backtracking engine without a time limit: ``(a+)+$`` against a long run of ``a`` and a ``!``
takes exponential time and stalls a whole task. The config is therefore checked at start-up
against a documented rule set (docs/security.md, "Regexes"); a pattern is rejected when

1. an unbounded repeat holds a body that can match one text in two ways from one iteration to
   the next (nested quantifiers ``(a+)+``, ``(\\w+\\s?)*``, ``(x+x+)+``),
2. an unbounded repeat holds an alternation whose branches can start with the same character
   or match nothing (``(a|ab)*``, ``(\\w|\\d)+``), or
3. two unbounded repeats over overlapping characters follow each other with nothing mandatory
   between them (``\\d+\\d+``, ``.*.*``, ``\\d+[a-z]*\\d+``: cubic time under the
   unanchored search ``rlike`` does).

Possessive quantifiers (``*+``) and atomic groups never give characters back and are safe.
The check is conservative (it may refuse a pattern that is in fact harmless: rewrite it with a
possessive quantifier) and reads the pattern with Python's own parser (``re._parser``, stable
across 3.11-3.13), after translating the Java-only syntax it knows (``\\p{..}``, ``\\Q..\\E``);
a pattern neither can read is left to the validity check that Spark's ``Pattern`` performs.
``regexploit`` (the PyPI ReDoS finder) was considered: it has had no release since 2021 and
misses rule 2, so the rules live here.
"""

from __future__ import annotations

import contextvars
import re

# The parser Python's own re module uses; typeshed has no stubs for these private names.
import re._constants as sre_c  # type: ignore[import-not-found]
import re._parser as sre_parse  # type: ignore[import-not-found]
from dataclasses import dataclass, field
from typing import Any

# Characters the overlap tests reason about: ASCII and Latin plus one sample of each wider
# script class; classes such as \w and \s are evaluated on these with Python's own matcher.
_UNIVERSE = frozenset(range(0x250)) | {0x2028, 0x3000, 0x4E00, 0xFEFF, 0x1F600}
_ANY = frozenset(_UNIVERSE)
_CATEGORY_PATTERNS = {
    sre_c.CATEGORY_DIGIT: r"\d",
    sre_c.CATEGORY_NOT_DIGIT: r"\D",
    sre_c.CATEGORY_SPACE: r"\s",
    sre_c.CATEGORY_NOT_SPACE: r"\S",
    sre_c.CATEGORY_WORD: r"\w",
    sre_c.CATEGORY_NOT_WORD: r"\W",
}
_CATEGORY_SETS = {
    category: frozenset(c for c in _UNIVERSE if re.fullmatch(regex, chr(c)))
    for category, regex in _CATEGORY_PATTERNS.items()
}
_UNBOUNDED = sre_c.MAXREPEAT
_BACKTRACKING_REPEATS = (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT)

# Java-only syntax, translated to something Python reads that matches at least as much.
_JAVA_ONLY = (
    (re.compile(r"\\[pP]\{[^}]*\}|\\[pP][A-Za-z]|\\[RXhHvV]"), r"[\\s\\S]"),
    (re.compile(r"\\z"), r"\\Z"),
)
# Matches nothing, but unlike an empty group it survives parsing (see _keep_alternatives).
_EMPTY = "(?:.{0})"
_JAVA_QUOTE = re.compile(r"\\Q(.*?)(?:\\E|$)", re.DOTALL)


# Case-insensitive matching ((?i), globally or in a group) makes [a-z] and [A-Z] overlap; the
# character sets of such a pattern are folded (everywhere: conservative).
_CASE_FOLD: contextvars.ContextVar[bool] = contextvars.ContextVar("case_fold", default=False)
_CASE_FLAG = re.compile(r"\(\?[a-zA-Z-]*i")


class CatastrophicPattern(ValueError):
    """The pattern can backtrack catastrophically; the message says which rule and where."""


@dataclass
class _Item:
    """What the scan needs to know about one element of a sequence."""

    first: frozenset[int]  # characters a match can start with
    last: frozenset[int]  # characters a match can end with
    nullable: bool  # can match the empty string
    backtracks: bool  # holds a repeat or alternation that can give characters back
    unbounded: bool = False  # holds an unbounded backtracking repeat
    # Repeats still able to give back characters after the item: (their last characters,
    # whether unbounded).
    opened: list[tuple[frozenset[int], bool]] = field(default_factory=list)


_NO_MARK_GROUP = re.compile(r"\(\?(?:[a-zA-Z-]*\)|#)")  # (?i) flags, (?# comment )


def _keep_alternatives(pattern: str) -> str:
    """Mark the end of every alternative with a group that matches nothing.

    Python's parser turns ``\\w|\\d`` into the set ``[\\w\\d]``; Java keeps the alternation
    and backtracks through it, so the alternatives must stay visible to rule 2.
    """
    out: list[str] = []
    groups: list[bool] = []  # per open group: whether its end gets a mark
    in_class = escaped = False
    for at, char in enumerate(pattern):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]" or out[-1] == "["
        elif char == "[":
            in_class = True
        elif char == "(":
            groups.append(not _NO_MARK_GROUP.match(pattern, at))
        elif char == "|" or (char == ")" and (groups.pop() if groups else True)):
            out.append(_EMPTY)
        out.append(char)
    return "".join(out) + _EMPTY


def _java_to_python(pattern: str) -> str:
    text = _JAVA_QUOTE.sub(lambda m: re.escape(m.group(1)), pattern)
    for java, python in _JAVA_ONLY:
        text = java.sub(python, text)
    return _keep_alternatives(text)


def _charset(items: list[tuple[Any, Any]]) -> frozenset[int]:
    chars: set[int] = set()
    negate = False
    for op, av in items:
        if op is sre_c.NEGATE:
            negate = True
        elif op is sre_c.LITERAL:
            chars.add(av)
        elif op is sre_c.RANGE:
            low, high = av
            chars.update(c for c in _UNIVERSE if low <= c <= high)
            chars.update((low, high))
        elif op is sre_c.CATEGORY:
            chars.update(_CATEGORY_SETS.get(av, _ANY))
        else:  # unknown set members: assume anything
            chars.update(_ANY)
    return frozenset(_ANY - chars) if negate else frozenset(chars)


def _sequence(pattern: Any, under_repeat: bool) -> _Item:
    """Scan one sequence (rule 3, and rule 1 when called on a repeat's doubled body)."""
    opened: list[tuple[frozenset[int], bool]] = []
    first: set[int] = set()
    last: set[int] = set()
    nullable = True
    backtracks = unbounded = False
    for op, av in pattern:
        item = _node(op, av, under_repeat)
        if item.backtracks:
            for prior_last, prior_unbounded in opened:
                strict = under_repeat or (prior_unbounded and item.unbounded)
                if strict and prior_last & item.first:
                    raise CatastrophicPattern(
                        "two repeats over the same characters follow each other, so a text "
                        "can be split between them in many ways"
                    )
        if nullable:
            first |= item.first
        last = (last | item.last) if item.nullable else set(item.last)
        nullable = nullable and item.nullable
        backtracks = backtracks or item.backtracks
        unbounded = unbounded or item.unbounded
        if not item.nullable and not under_repeat:
            # Splitting a text around a mandatory item costs at most quadratic time per start
            # (bounded by the line length), not the cubic or worse of rule 3.
            opened = []
        elif not item.nullable:  # inside a repeat only a distinct character ends the choice
            opened = [(chars, unb) for chars, unb in opened if chars & item.first]
        opened.extend(item.opened)
    return _Item(frozenset(first), frozenset(last), nullable, backtracks, unbounded, opened)


def _repeat(op: Any, av: Any, under_repeat: bool) -> _Item:
    low, high, body = av
    if high == 0:
        return _Item(frozenset(), frozenset(), True, False)
    possessive = op not in _BACKTRACKING_REPEATS
    inner = _sequence(body, under_repeat or high == _UNBOUNDED)
    if high == _UNBOUNDED and not possessive:
        # Rule 1: two iterations back to back must not be able to share out one text.
        _sequence(list(body) + list(body), under_repeat=True)
        if inner.nullable:
            raise CatastrophicPattern("an unbounded repeat holds something that can match nothing")
    variable = high != low and not possessive
    item = _Item(
        inner.first,
        inner.last,
        low == 0 or inner.nullable,
        variable or inner.backtracks,
        (high == _UNBOUNDED and not possessive) or inner.unbounded,
    )
    if item.backtracks and not possessive:
        item.opened = [(inner.last, item.unbounded)]
    return item


def _branch(av: Any, under_repeat: bool) -> _Item:
    branches = [_sequence(b, under_repeat) for b in av[1]]
    seen: set[int] = set()
    ambiguous = False
    for branch in branches:
        ambiguous = ambiguous or branch.nullable or bool(seen & branch.first)
        seen |= branch.first
    if ambiguous and under_repeat:  # Rule 2
        raise CatastrophicPattern(
            "a repeated alternation has branches that can start with the same character"
        )
    item = _Item(
        frozenset(seen),
        frozenset().union(*(b.last for b in branches)),
        any(b.nullable for b in branches),
        ambiguous or any(b.backtracks for b in branches),
        any(b.unbounded for b in branches),
    )
    if item.backtracks:
        item.opened = [(item.last, item.unbounded)]
    return item


def _one_character(op: Any, av: Any) -> frozenset[int] | None:
    """The characters a one-character node matches (case-folded where the pattern ignores
    case); None for any other node."""
    chars = _unfolded(op, av)
    if chars is None or not _CASE_FOLD.get():
        return chars
    swapped = (chr(c).swapcase() for c in chars)
    return chars | {ord(s) for s in swapped if len(s) == 1}


def _unfolded(op: Any, av: Any) -> frozenset[int] | None:
    if op is sre_c.LITERAL:
        return frozenset({av})
    if op is sre_c.NOT_LITERAL:
        return _ANY - {av}
    if op is sre_c.ANY:
        return _ANY - {ord("\n")}
    if op is sre_c.IN:
        return _charset(av)
    return None


def _node(op: Any, av: Any, under_repeat: bool) -> _Item:
    chars = _one_character(op, av)
    if chars is not None:
        return _Item(chars, chars, False, False)
    if op in (*_BACKTRACKING_REPEATS, sre_c.POSSESSIVE_REPEAT):
        return _repeat(op, av, under_repeat)
    if op is sre_c.SUBPATTERN:
        return _sequence(av[-1], under_repeat)
    if op is sre_c.ATOMIC_GROUP:
        inner = _sequence(av, under_repeat)
        return _Item(inner.first, inner.last, inner.nullable, False)
    if op is sre_c.BRANCH:
        return _branch(av, under_repeat)
    if op is sre_c.GROUPREF:  # a back-reference can hold anything its group matched
        return _Item(_ANY, _ANY, True, True, True, [(_ANY, True)])
    if op in (sre_c.ASSERT, sre_c.ASSERT_NOT):
        _sequence(av[1], under_repeat=False)
    # Anchors, lookarounds and the rest match no character of their own.
    return _Item(frozenset(), frozenset(), True, False)


def check_backtracking(pattern: str) -> None:
    """Raise ``CatastrophicPattern`` when ``pattern`` breaks one of the module's rules.

    A pattern that cannot be read even after translation is not judged here: whether it is a
    valid regex at all is checked by the caller (Spark's ``Pattern``).
    """
    try:
        parsed = sre_parse.parse(_java_to_python(pattern))
    except (re.error, OverflowError, RecursionError):
        return
    fold = bool(parsed.state.flags & re.IGNORECASE) or bool(_CASE_FLAG.search(pattern))
    token = _CASE_FOLD.set(fold)
    try:
        _sequence(parsed, under_repeat=False)
    finally:
        _CASE_FOLD.reset(token)


def backtracking_problem(pattern: str) -> str | None:
    """Why ``pattern`` can backtrack catastrophically, or None when it cannot."""
    try:
        check_backtracking(pattern)
    except CatastrophicPattern as exc:
        return str(exc)
    return None
