"""Chinese search as pure functions: what a matter's index document holds, what a query asks.

pg_trgm cannot find two-character words like 社保, so names are indexed as character bigrams and a
query is a phrase of its bigrams: exactly the rows ``name LIKE '%q%'`` finds (over letters and
digits; punctuation splits a name into runs and no phrase crosses a split). Pinyin and pinyin
initials of the name are indexed the same way, so ``gjj`` finds 公积金. Filters are facet tokens
in the same document, so one index answers text and filters together. A query that holds a search
word (社保) is also each of its alternatives (社会保险: search_word_rules.py), one more phrase OR-ed
in the name bands, ranked after the query as typed.

Why tiers: a search costs what its *matching* rows cost (every candidate's document is rechecked
for phrase positions), not what the page costs — 登记 matches 567,000 of 3.6 million names. The
first page only needs the best 20, and the best are few: so a matter in a popularity tier above
cold (hot, warm) is indexed a second time under its tier's prefix, and a search walks *steps* —
(band of match quality) × (tier) — in ranking order, stopping once the page is full. The order
stays exactly "match quality, then popularity": a tier is a popularity range, a band a range of
quality, and each step returns only rows of its own band and tier (docs/catalog.md).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache

from pypinyin import Style, lazy_pinyin

from domain.catalog.rules import CHANNELS

SEPARATOR = "zzsepzz"  # between runs: phrases never span punctuation
NATIONAL = "000000000000"
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_SPLIT = re.compile(r"[^0-9a-z\u3400-\u9fff\uf900-\ufaff]+")
_NAME_AT, _INITIALS_AT, _PINYIN_AT = 1, 1001, 2001  # tsvector positions of the three texts

# Popularity tiers (popularity = views + 10 × applications). Floors, not quantiles, so a matter's
# tier changes only when it crosses one (the popularity flush then rewrites its document). How the
# generated national catalog falls into them: docs/benchmarks.md. Changing them needs a reindex.
HOT, WARM, COLD = 0, 1, 2
TIER_FLOORS = ((HOT, 10_000), (WARM, 500))
_TIER_MARK = {HOT: "h", WARM: "w"}  # FTS5: prefix of the tier columns' tokens
_PG_TIER = {HOT: "~h", WARM: "~w"}  # PostgreSQL: prefix of tier lexemes (never a gram's first char)
_PG_START = "^"  # PostgreSQL: "this gram starts the name"; FTS5 has ^"..." queries instead
TIER_FACETS = {HOT: "tierhot", WARM: "tierwarm"}  # for browsing without text


def tier_of(popularity: int) -> int:
    for tier, floor in TIER_FLOORS:
        if popularity >= floor:
            return tier
    return COLD


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
        out += [zone_token(z) for z in self.zones]
        return out


CROSS_PROVINCE = "xprov"  # longer than any gram: never equal to a two-letter name gram


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


def channel_mask(channels) -> int:
    """Channels as bits of a column, not as index tokens: nearly every matter is offered on WeChat,
    and a posting list that long slowed every search's GIN scan (measured: docs/benchmarks.md)."""
    return sum(1 << CHANNELS.index(c) for c in set(channels))


def zone_token(zone: str) -> str:
    return f"z{_alnum(zone)}"


@dataclass(frozen=True)
class Document:
    name_grams: list[str]
    initial_grams: list[str]
    pinyin_grams: list[str]
    facets: list[str]
    tier: int = COLD
    popularity: int = 0
    name_key: str = ""  # the name's runs joined: "exact name" is name_key == the query's
    channels: int = 0  # channel_mask of the channels the matter is offered on


def document(name: str, facets: Facets, popularity: int = 0) -> Document:
    initials, full = pinyin_texts(name)
    return Document(grams(name), grams(initials), grams(full), facets.tokens(), tier_of(popularity), popularity,
                    "".join(runs(name)), channel_mask(facets.channels))


def with_popularity(doc: Document, popularity: int) -> Document:
    return replace(doc, tier=tier_of(popularity), popularity=popularity)


def _texts(doc: Document):
    return ((doc.name_grams, _NAME_AT, "A"), (doc.initial_grams, _INITIALS_AT, "B"),
            (doc.pinyin_grams, _PINYIN_AT, "C"))


def tsvector_literal(doc: Document) -> str:
    """PostgreSQL tsvector input (no parser involved): name grams weight A, initials B, pinyin C;
    the name's first gram again as ^gram; in a hot or warm tier every gram and facet token again
    under the tier's prefix (a hot step's region clause then reads hot posting lists only)."""
    positions: dict[str, list[str]] = {}
    prefixes = [""] + ([_PG_TIER[doc.tier]] if doc.tier != COLD else [])
    for grams_, start, weight in _texts(doc):
        for offset, gram in enumerate(grams_):
            if gram == SEPARATOR:
                continue
            at = f"{min(start + offset, 16383)}{weight}"
            starts_name = start == _NAME_AT and offset == 0
            for prefix in prefixes:
                positions.setdefault(prefix + gram, []).append(at)
                if starts_name:
                    positions.setdefault(prefix + _PG_START + gram, []).append(at)
    parts = [f"'{lexeme}':{','.join(ps)}" for lexeme, ps in positions.items()]
    parts += [f"'{prefix}{token}'" for token in dict.fromkeys(_facet_tokens(doc)) for prefix in prefixes]
    return " ".join(parts)


def _facet_tokens(doc: Document) -> list[str]:
    return doc.facets + ([TIER_FACETS[doc.tier]] if doc.tier != COLD else [])


FTS5_COLUMNS = ("name_grams", "initial_grams", "pinyin_grams", "facets", "tier_name", "tier_initials",
                "tier_pinyin", "tier", "popularity", "name_key", "channels")


def fts5_row(doc: Document) -> list:
    """The FTS5 row (columns as FTS5_COLUMNS): tier columns hold the grams under the tier's mark."""
    mark = _TIER_MARK.get(doc.tier)
    tiered = [" ".join(g if g == SEPARATOR else mark + g for g in grams_) if mark else ""
              for grams_, _, _ in _texts(doc)]
    return [" ".join(doc.name_grams), " ".join(doc.initial_grams), " ".join(doc.pinyin_grams),
            " ".join(_facet_tokens(doc)), *tiered, doc.tier, doc.popularity, doc.name_key, doc.channels]


# --- queries ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextQuery:
    normalized: str  # lower case, letters and digits only
    phrase: list[str]  # the grams that must stand next to each other
    prefix: str | None  # a one-character query: any gram starting with it
    latin: bool  # may match pinyin or initials too
    # What the query also means through the search words (社保 → 社会保险; search_word_rules):
    # each is another phrase a name may hold instead, OR-ed in the name bands; pinyin stays literal.
    alternatives: tuple[str, ...] = ()

    def phrases(self) -> list[list[str]]:
        """The literal phrase, then each alternative's."""
        return [self.phrase] + [_bigrams(word) for word in self.alternatives]


@dataclass(frozen=True)
class FacetQuery:
    """Each inner list is OR-ed; the lists are AND-ed. ``channels``: a channel_mask the matter must
    share a bit with (0: any channel) — checked on the row, not through the index."""

    groups: list[list[str]] = field(default_factory=list)
    channels: int = 0


def text_query(q: str) -> TextQuery | None:
    """None when nothing searchable is left (the caller answers with an error or browses)."""
    parts = runs(q)
    if not parts:
        return None
    normalized = "".join(parts)
    latin = not _HAN.search(normalized)
    if len(normalized) == 1:
        return TextQuery(normalized, [], normalized, latin)
    return TextQuery(normalized, _bigrams(normalized), None, latin)


def _bigrams(word: str) -> list[str]:
    return [word[i:i + 2] for i in range(len(word) - 1)]


def with_alternatives(text: TextQuery, alternatives) -> TextQuery:
    """``text`` also matching names that hold one of ``alternatives`` (normalized, two or more
    characters each) where it would hold the query. A one-character query has none."""
    found = tuple(a for a in alternatives if len(a) > 1 and a != text.normalized)
    return replace(text, alternatives=found) if found and text.prefix is None else text


# Bands of match quality, in ranking order: the name starts with the query (exact names first
# inside it), the name contains it, only its pinyin or initials do.
STARTS, CONTAINS, PINYIN, BROWSE = 0, 1, 2, 3


@dataclass(frozen=True)
class Step:
    band: int
    tier: int


def steps(text: TextQuery | None) -> list[Step]:
    """The searches that together return every match, each step's rows ranked after the previous
    step's. Without text there is one band (browsing by filters, popularity only)."""
    bands = [BROWSE] if text is None else [STARTS, CONTAINS] + ([PINYIN] if text.latin else [])
    return [Step(band, tier) for band in bands for tier in (HOT, WARM, COLD)]


def quality_floor(step: Step) -> int:
    """0 exact name, 1 name starts with the query, 2 contains it, 3 pinyin only (STARTS holds 0 and 1)."""
    return {STARTS: 0, CONTAINS: 2, PINYIN: 3, BROWSE: 0}[step.band]


# Within a step, a name that matches only through the search words ranks after those that hold the
# query as typed: its quality is the literal one's plus THROUGH_WORDS (STARTS: 4 exact, 5 starts;
# CONTAINS: 6). Told apart on the row's name_key, never by a second index lookup.
THROUGH_WORDS = 4


def pg_tsquery(text: TextQuery | None, facets: FacetQuery, step: Step) -> str:
    """The step's rows, except that a COLD step's query also finds hotter rows: the caller keeps
    only tier = COLD there (they have no tier lexemes to look them up by). In a hot or warm step
    every lexeme carries the tier's prefix, filters too, so every posting list read is the tier's."""
    prefix = _PG_TIER.get(step.tier, "")
    clauses = [_pg_band(text, step.band, prefix)] if text is not None else []
    clauses += ["(" + " | ".join(f"'{prefix}{t}'" for t in group) + ")" for group in facets.groups]
    return " & ".join(clauses)


def _pg_band(text: TextQuery, band: int, prefix: str) -> str:
    starts = _pg_names(text, prefix, anchored=True)
    in_name = _pg_names(text, prefix)
    if band == STARTS:
        return starts
    if band == CONTAINS:
        return f"({in_name} & !{starts})"
    initials, pinyin = (_pg_phrase(text, text.phrase, weight, prefix) for weight in ("B", "C"))
    return f"(({initials} | {pinyin}) & !{in_name})"


def _pg_names(text: TextQuery, prefix: str, anchored: bool = False) -> str:
    """The name holds the query or one of its alternatives."""
    phrases = [_pg_phrase(text, phrase, "A", prefix, anchored) for phrase in text.phrases()]
    return phrases[0] if len(phrases) == 1 else "(" + " | ".join(phrases) + ")"


def _pg_phrase(text: TextQuery, phrase: list[str], weight: str, prefix: str, anchored: bool = False) -> str:
    start = prefix + (_PG_START if anchored else "")
    if text.prefix is not None:
        return f"'{start}{text.prefix}':*{weight}"
    lexemes = [start + phrase[0]] + [prefix + g for g in phrase[1:]]
    return "(" + " <-> ".join(f"'{lexeme}':{weight}" for lexeme in lexemes) + ")"


def fts5_query(text: TextQuery | None, facets: FacetQuery, step: Step) -> str:
    """As pg_tsquery, in FTS5's syntax: tier columns instead of tier lexemes, ^ for "starts"."""
    clauses = [_fts5_band(text, step)] if text is not None else []
    if text is None and step.tier != COLD:
        clauses.append(f"facets : {TIER_FACETS[step.tier]}")
    clauses += ["facets : (" + " OR ".join(group) + ")" for group in facets.groups]
    return " AND ".join(clauses)


def _fts5_band(text: TextQuery, step: Step) -> str:
    mark = _TIER_MARK.get(step.tier, "")
    names, others = ("tier_name", "{tier_initials tier_pinyin}") if mark else ("name_grams",
                                                                              "{initial_grams pinyin_grams}")
    if text.prefix is not None:
        literal = f"{mark}{text.prefix}*"
    else:
        literal = '"' + " ".join(mark + g for g in text.phrase) + '"'
    phrases = [literal] + ['"' + " ".join(mark + g for g in p) + '"' for p in text.phrases()[1:]]
    starts = f"{names} : " + _fts5_any(["^" + p for p in phrases])
    in_name = f"{names} : " + _fts5_any(phrases)
    if step.band == STARTS:
        return f"({starts})"
    if step.band == CONTAINS:
        return f"({in_name} NOT {starts})"
    return f"({others} : {literal} NOT {in_name})"


def _fts5_any(phrases: list[str]) -> str:
    return phrases[0] if len(phrases) == 1 else "(" + " OR ".join(phrases) + ")"


def visible_region_tokens(ancestors: list[str]) -> list[str]:
    """A citizen sees their region's chain, the national items, and cross-province items anywhere."""
    return [region_token(code) for code in [*ancestors, NATIONAL]] + [CROSS_PROVINCE]
