"""Search words (搜索词) as pure functions: what a valid entry is, and what a query becomes.

A citizen types 社保; the catalog's names say 社会保险. Product teams keep a dictionary of such
words: an entry names a **term** and its **expansions** (社保 → 社会保险, 社会保障). A query that
contains a term also matches each expansion in its place, and a ``two_way`` entry works backwards
too (社会保险 → 社保: "社保关系转移接续" is found by the long form) — back to the term only, never
to the term's other expansions (社会保险 is not 社会保障).

``alternatives`` is the one place a query is expanded. It reads the query **as typed**, once: an
expansion is never expanded again, so chains and cycles (A → B, B → A) cannot grow, and the count
of alternatives is capped (``MAX_ALTERNATIVES``, the literal query first and always kept). Where
several terms overlap, the longest wins at each position, left to right (社保卡 before 社保).
An alternative that contains the literal query or another alternative is dropped: phrase search
is substring search, so it could only find rows the shorter one finds already.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import combinations, product
from types import MappingProxyType

TERM_MIN, TERM_MAX = 2, 16  # characters of a term (an expansion has the same minimum)
EXPANSION_MAX = 32  # characters of an expansion (中华人民共和国往来港澳通行证 is 14)
MAX_EXPANSIONS = 8  # per entry
NOTE_MAX = 200
MAX_ENTRIES = 5_000  # the whole dictionary: it is held in every process's memory
MAX_ALTERNATIVES = 8  # per query, the literal query included: each one is a phrase OR-ed in every search step
_EXAMINED = 64  # candidate alternatives looked at per query, at most (most are kept; a few are redundant)

_WORD = re.compile(r"[0-9a-z\u3400-\u9fff\uf900-\ufaff]+")  # the characters search indexes (search_rules)


def normalized(word: str) -> str:
    """As search reads text: latin letters in lower case, surrounding spaces ignored."""
    return word.strip().lower() if isinstance(word, str) else ""


@dataclass(frozen=True)
class Entry:
    """One entry of the dictionary, normalized (``entry`` makes one from what an editor typed)."""

    term: str
    expansions: tuple[str, ...]
    two_way: bool = True
    note: str = ""


def problems(term: str, expansions: Iterable[str], note: str = "") -> list[dict]:
    """What is wrong with an entry, one ``{"field", "message"}`` per problem (empty: valid).
    Expansions are checked as normalized; the caller normalizes with ``entry``."""
    found: list[dict] = []
    term_n = normalized(term)
    found += _word_problems("term", term_n, TERM_MAX)
    words = [normalized(e) for e in expansions]
    if not words:
        found.append({"field": "expansions", "message": "至少填写一个扩展词"})
    if len(words) > MAX_EXPANSIONS:
        found.append({"field": "expansions", "message": f"扩展词最多 {MAX_EXPANSIONS} 个"})
    seen: set[str] = set()
    for i, word in enumerate(words[:MAX_EXPANSIONS]):
        where = f"expansions.{i}"
        found += _word_problems(where, word, EXPANSION_MAX)
        if word == term_n:
            found.append({"field": where, "message": "扩展词不能与原词相同"})
        if word in seen:
            found.append({"field": where, "message": "扩展词重复"})
        seen.add(word)
    if not isinstance(note, str) or len(note) > NOTE_MAX:
        found.append({"field": "note", "message": f"备注最多 {NOTE_MAX} 字"})
    return found


def redundancy(entry: Entry) -> list[dict]:
    """One-way expansions that contain the term change nothing: a search for 公积金 already finds
    every name with 住房公积金 in it. (Two-way, they still say 住房公积金 finds 公积金.)"""
    if entry.two_way:
        return []
    return [{"field": f"expansions.{i}", "message": "扩展词包含原词，搜索原词已能找到；如需反向生效请设为双向"}
            for i, word in enumerate(entry.expansions) if entry.term in word]


def entry(term: str, expansions: Iterable[str], two_way: bool = True, note: str = "") -> Entry:
    words = tuple(normalized(e) for e in expansions)
    return Entry(normalized(term), words, bool(two_way), (note or "").strip())


def _word_problems(where: str, word: str, longest: int) -> list[dict]:
    if not word:
        return [{"field": where, "message": "不能为空"}]
    if not _WORD.fullmatch(word):
        return [{"field": where, "message": "只能包含汉字、字母和数字（不含空格与标点）"}]
    if not TERM_MIN <= len(word) <= longest:
        return [{"field": where, "message": f"应为 {TERM_MIN}–{longest} 个字"}]
    return []


# --- the dictionary as search reads it ----------------------------------------------------------


@dataclass(frozen=True)
class Dictionary:
    """Every key a query may contain (a term, and each expansion of a two-way entry) and what it
    may become, in the entries' order. Immutable: one is shared by every request of a process."""

    replacements: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    longest: int = 0  # the longest key, bounding the scan of a query

    def __bool__(self) -> bool:
        return bool(self.replacements)


EMPTY = Dictionary()


def compile_dictionary(entries: Iterable[Entry]) -> Dictionary:
    merged: dict[str, list[str]] = {}

    def add(key: str, word: str) -> None:
        if not (_WORD.fullmatch(key) and _WORD.fullmatch(word)):
            return  # never from the service (it validates); a query is built from these
        words = merged.setdefault(key, [])
        if word != key and word not in words:
            words.append(word)

    for item in entries:
        for word in item.expansions:
            add(item.term, word)
            if item.two_way:
                add(word, item.term)
    replacements = {key: tuple(words) for key, words in merged.items() if words}
    return Dictionary(MappingProxyType(replacements), max((len(k) for k in replacements), default=0))


@dataclass(frozen=True)
class _Slot:
    start: int
    end: int
    words: tuple[str, ...]


def _slots(query: str, dictionary: Dictionary) -> list[_Slot]:
    """The dictionary keys in the query: the longest at each position, left to right, no overlap."""
    slots, i = [], 0
    while i < len(query) - 1:
        for length in range(min(dictionary.longest, len(query) - i), 1, -1):
            words = dictionary.replacements.get(query[i:i + length])
            if words:
                slots.append(_Slot(i, i + length, words))
                i += length
                break
        else:
            i += 1
    return slots


def _candidates(query: str, slots: list[_Slot]) -> Iterator[str]:
    """Queries with one key replaced, then two, ...: the simplest readings first."""
    for count in range(1, len(slots) + 1):
        for chosen in combinations(slots, count):
            for words in product(*(slot.words for slot in chosen)):
                parts, at = [], 0
                for slot, word in zip(chosen, words):
                    parts += [query[at:slot.start], word]
                    at = slot.end
                yield "".join(parts) + query[at:]


def alternatives(query: str, dictionary: Dictionary) -> tuple[str, ...]:
    """The normalized query (``search_rules.TextQuery.normalized``) and what it also means: the
    literal first, then at most MAX_ALTERNATIVES - 1 readings through the dictionary."""
    if not dictionary or len(query) < TERM_MIN:
        return (query,)
    slots = _slots(query, dictionary)
    kept: list[str] = []
    for examined, candidate in enumerate(_candidates(query, slots)):
        if examined >= _EXAMINED or len(kept) >= MAX_ALTERNATIVES - 1:
            break
        if query in candidate or any(other in candidate for other in kept):
            continue  # finds nothing a shorter one does not
        kept = [other for other in kept if candidate not in other] + [candidate]
    return (query, *kept)
