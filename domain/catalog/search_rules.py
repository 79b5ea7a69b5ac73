"""Chinese search as pure functions: what a matter's index document holds, what a query asks.

pg_trgm cannot find two-character words like 社保, so names are indexed as character bigrams and a
query is a phrase of its bigrams: exactly the rows ``name LIKE '%q%'`` finds (over letters and
digits; punctuation splits a name into runs and no phrase crosses a split). Pinyin and pinyin
initials of the name are indexed the same way, so ``gjj`` finds 公积金. Filters are facet tokens
in the same document, so one index answers text and filters together.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from pypinyin import Style, lazy_pinyin

SEPARATOR = "zzsepzz"  # between runs: phrases never span punctuation
NATIONAL = "000000000000"
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_SPLIT = re.compile(r"[^0-9a-z\u3400-\u9fff\uf900-\ufaff]+")
_NAME_AT, _INITIALS_AT, _PINYIN_AT = 1, 1001, 2001  # tsvector positions of the three texts


def runs(text: str) -> list[str]:
    return [r for r in _SPLIT.split(text.lower()) if r]


def grams_of_run(run: str) -> list[str]:
    """Bigrams, then the run's last character alone (so a one-character prefix query finds it)."""
    return [run[i:i + 2] for i in range(len(run) - 1)] + [run[-1]]


def grams(text: str) -> list[str]:
    out: list[str] = []
    for run in runs(text):
        if out:
            out.append(SEPARATOR)
        out.extend(grams_of_run(run))
    return out


@lru_cache(maxsize=65536)  # names repeat across regions; pypinyin costs about a millisecond a name
def pinyin_texts(name: str) -> tuple[str, str]:
    """(initials, full pinyin) of the name's runs, each run joined without spaces."""
    initials, full = [], []
    for run in runs(name):
        if not _HAN.search(run):
            continue
        syllables = lazy_pinyin(run, errors=lambda chars: list(chars))
        full.append("".join(syllables))
        initials.append("".join(lazy_pinyin(run, style=Style.FIRST_LETTER, errors=lambda chars: list(chars))))
    return " ".join(initials), " ".join(full)


@dataclass(frozen=True)
class Facets:
    """What a matter can be filtered by, as index tokens (letters and digits only, for FTS5)."""

    region_code: str
    cross_province: bool
    department_code: str
    kind: str
    for_individuals: bool
    for_legal_persons: bool
    life_events: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    zones: tuple[str, ...] = ()

    def tokens(self) -> list[str]:
        out = [region_token(self.region_code), department_token(self.department_code), kind_token(self.kind)]
        if self.cross_province:
            out.append(CROSS_PROVINCE)
        if self.for_individuals:
            out.append(audience_token("individual"))
        if self.for_legal_persons:
            out.append(audience_token("legal_person"))
        out += [life_event_token(e) for e in self.life_events]
        out += [channel_token(c) for c in self.channels]
        out += [zone_token(z) for z in self.zones]
        return out


CROSS_PROVINCE = "rx"


def _alnum(value: str) -> str:
    return re.sub(r"[^0-9a-z]", "", value.lower())


def region_token(code: str) -> str:
    return f"r{code}"


def department_token(code: str) -> str:
    return f"d{_alnum(code)}"


def kind_token(kind: str) -> str:
    return f"k{_alnum(kind)}"


def audience_token(audience: str) -> str:
    return {"individual": "aind", "legal_person": "aleg"}[audience]


def life_event_token(event: str) -> str:
    return f"l{_alnum(event)}"


def channel_token(channel: str) -> str:
    return f"c{_alnum(channel)}"


def zone_token(zone: str) -> str:
    return f"z{_alnum(zone)}"


@dataclass(frozen=True)
class Document:
    name_grams: list[str]
    initial_grams: list[str]
    pinyin_grams: list[str]
    facets: list[str]


def document(name: str, facets: Facets) -> Document:
    initials, full = pinyin_texts(name)
    return Document(grams(name), grams(initials), grams(full), facets.tokens())


def tsvector_literal(doc: Document) -> str:
    """PostgreSQL tsvector input (no parser involved): name grams weight A, initials B, pinyin C."""
    positions: dict[str, list[str]] = {}
    for grams_, start, weight in ((doc.name_grams, _NAME_AT, "A"), (doc.initial_grams, _INITIALS_AT, "B"),
                                  (doc.pinyin_grams, _PINYIN_AT, "C")):
        for offset, gram in enumerate(grams_):
            if gram != SEPARATOR:
                positions.setdefault(gram, []).append(f"{min(start + offset, 16383)}{weight}")
    parts = [f"'{lexeme}':{','.join(ps)}" for lexeme, ps in positions.items()]
    parts += [f"'{token}'" for token in dict.fromkeys(doc.facets)]
    return " ".join(parts)


# --- queries ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextQuery:
    normalized: str  # lower case, letters and digits only
    phrase: list[str]  # the grams that must stand next to each other
    prefix: str | None  # a one-character query: any gram starting with it
    latin: bool  # may match pinyin or initials too


@dataclass(frozen=True)
class FacetQuery:
    """Each inner list is OR-ed; the lists are AND-ed."""

    groups: list[list[str]] = field(default_factory=list)


def text_query(q: str) -> TextQuery | None:
    """None when nothing searchable is left (the caller answers with an error or browses)."""
    parts = runs(q)
    if not parts:
        return None
    normalized = "".join(parts)
    latin = not _HAN.search(normalized)
    if len(normalized) == 1:
        return TextQuery(normalized, [], normalized, latin)
    return TextQuery(normalized, [normalized[i:i + 2] for i in range(len(normalized) - 1)], None, latin)


def pg_tsquery(text: TextQuery | None, facets: FacetQuery) -> str:
    clauses = []
    if text is not None:
        weights = "ABC" if text.latin else "A"
        alternatives = [_pg_phrase(text, w) for w in weights]
        clauses.append("(" + " | ".join(alternatives) + ")")
    clauses += ["(" + " | ".join(f"'{t}'" for t in group) + ")" for group in facets.groups]
    return " & ".join(clauses)


def _pg_phrase(text: TextQuery, weight: str) -> str:
    if text.prefix is not None:
        return f"'{text.prefix}':*{weight}"
    return "(" + " <-> ".join(f"'{g}':{weight}" for g in text.phrase) + ")"


def fts5_query(text: TextQuery | None, facets: FacetQuery) -> str:
    clauses = []
    if text is not None:
        columns = "{name_grams initial_grams pinyin_grams}" if text.latin else "name_grams"
        match = f"{text.prefix}*" if text.prefix is not None else '"' + " ".join(text.phrase) + '"'
        clauses.append(f"{columns} : {match}")
    clauses += ["facets : (" + " OR ".join(group) + ")" for group in facets.groups]
    return " AND ".join(clauses)


def visible_region_tokens(ancestors: list[str]) -> list[str]:
    """A citizen sees their region's chain, the national items, and cross-province items anywhere."""
    return [region_token(code) for code in [*ancestors, NATIONAL]] + [CROSS_PROVINCE]
