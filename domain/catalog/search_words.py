"""Search words: the dictionary product teams keep, and the one search reads.

Editing (``list``, ``add``, ``change``, ``remove``) is audited in the change's own transaction, as
every admin change is, and optimistically locked: a change or removal names the version it was
based on. Reading (``dictionary``) is served from this process's memory (``domain/shared/followed.py``)
and dropped on every process the moment an entry changes: the change is announced on the change
feed after its commit (Redis pub/sub, the mechanism topics use), so a word added in the console is
in every search at once. The rules (what a valid entry is, what a query becomes) are pure:
``search_word_rules.py``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from domain.audit.service import SEED, Actor, AuditLog
from domain.catalog import search_rules as sr
from domain.catalog import search_word_rules as rules
from domain.catalog.errors import (
    InvalidSearchWord,
    SearchWordExists,
    SearchWordNotFound,
    SearchWordVersionConflict,
    SearchWordVersionRequired,
)
from domain.catalog.models import SearchWord
from domain.shared.clock import Clock
from domain.shared.followed import Feed, Followed
from domain.shared.rows import is_row_id

TARGET = "search_word"
SEED_FILE = Path(__file__).parent / "seed_data" / "search_words.json"
MAX_AGE = 60.0  # seconds: the longest a process keeps the dictionary without hearing of a change


@dataclass(frozen=True)
class SearchWordView:
    id: int
    term: str
    expansions: tuple[str, ...]
    two_way: bool
    note: str
    version: int
    created_by: str
    updated_by: str
    created_at: datetime
    updated_at: datetime


class SearchWordService:
    def __init__(self, *, clock: Clock, feed: Feed | None = None, max_age: float = MAX_AGE) -> None:
        self._clock = clock
        self._memory = Followed(_load_dictionary, feed=feed, name="search words", max_age=max_age)

    # --- reading, for search -------------------------------------------------------------------

    async def dictionary(self) -> rules.Dictionary:
        return await self._memory.get()

    async def expand(self, text: sr.TextQuery) -> sr.TextQuery:
        """``text`` with the alternatives the dictionary gives it (search calls this)."""
        if text.prefix is not None:
            return text
        dictionary = await self.dictionary()
        if not dictionary:
            return text
        return sr.with_alternatives(text, rules.alternatives(text.normalized, dictionary)[1:])

    async def preview(self, q: str) -> tuple[str, ...]:
        """What search looks for when a citizen types ``q``: the query as search reads it, then its
        alternatives (empty when nothing searchable is left)."""
        text = sr.text_query(q)
        if text is None:
            return ()
        text = await self.expand(text)
        return (text.normalized, *text.alternatives)

    @property
    def generation(self) -> int:
        return self._memory.generation

    def invalidate(self) -> None:
        """Forget the dictionary held here (a test harness emptying the tables under it)."""
        self._memory.invalidate()

    async def follow_changes(self) -> None:
        """Run for the life of a serving process: every change announced elsewhere drops the
        dictionary here, and it is kept only while the feed is subscribed."""
        await self._memory.follow()

    # --- editing -------------------------------------------------------------------------------

    async def list(self) -> list[SearchWordView]:
        return [_view(word) for word in await SearchWord.all().order_by("term")]

    async def add(self, *, actor: Actor, term: str, expansions: list[str], two_way: bool = True,
                  note: str = "", request_id: str | None = None) -> SearchWordView:
        entry = _valid(term, expansions, two_way, note)
        now = self._clock.now()
        try:
            async with in_transaction():
                if await SearchWord.filter(term=entry.term).exists():
                    raise _exists(entry.term)
                if await SearchWord.all().count() >= rules.MAX_ENTRIES:
                    raise InvalidSearchWord(f"搜索词最多 {rules.MAX_ENTRIES} 条", errors=[
                        {"field": "term", "message": "词表已满"}])
                word = await SearchWord.create(**_fields(entry), version=1, created_by=actor.username,
                                               updated_by=actor.username, created_at=now, updated_at=now)
                await AuditLog.record(actor=actor, action="search_word.create", target_type=TARGET,
                                      target_id=word.id, before=None, after=_snapshot(word),
                                      request_id=request_id, at=now)
        except IntegrityError:  # the same term added at the same moment by someone else
            raise _exists(entry.term) from None
        await self._memory.announce({"search_word": word.id, "action": "search_word.create"})
        return _view(word)

    async def change(self, *, actor: Actor, word_id: int, version: int | None, term: str,
                     expansions: list[str], two_way: bool = True, note: str = "",
                     request_id: str | None = None) -> SearchWordView:
        """Replace an entry (all of it: term, expansions, direction, note)."""
        _require_version(version)
        entry = _valid(term, expansions, two_way, note)
        now = self._clock.now()
        try:
            async with in_transaction():
                word = await _word(word_id)
                _check_version(word, version)
                if entry.term != word.term and await SearchWord.filter(term=entry.term).exists():
                    raise _exists(entry.term)
                before = _snapshot(word)
                changed = {**_fields(entry), "version": word.version + 1, "updated_by": actor.username,
                           "updated_at": now}
                # compare-and-set on the version: two editors saving at once cannot both win
                if not await SearchWord.filter(id=word.id, version=word.version).update(**changed):
                    raise _conflict(word.id)
                word = await SearchWord.get(id=word.id)
                await AuditLog.record(actor=actor, action="search_word.update", target_type=TARGET,
                                      target_id=word.id, before=before, after=_snapshot(word),
                                      request_id=request_id, at=now)
        except IntegrityError:
            raise _exists(entry.term) from None
        await self._memory.announce({"search_word": word.id, "action": "search_word.update"})
        return _view(word)

    async def remove(self, *, actor: Actor, word_id: int, version: int | None,
                     request_id: str | None = None) -> None:
        _require_version(version)
        async with in_transaction():
            word = await _word(word_id)
            _check_version(word, version)
            if not await SearchWord.filter(id=word.id, version=word.version).delete():
                raise _conflict(word.id)
            await AuditLog.record(actor=actor, action="search_word.delete", target_type=TARGET,
                                  target_id=word.id, before=_snapshot(word), after=None,
                                  request_id=request_id, at=self._clock.now())
        await self._memory.announce({"search_word": word_id, "action": "search_word.delete"})


async def seed_search_words(words: SearchWordService, *, actor: Actor = SEED) -> dict:
    """The everyday words of ``seed_data/search_words.json``. Idempotent: a term already in the
    dictionary is left as the product team left it."""
    known = {view.term for view in await words.list()}
    added = 0
    for item in json.loads(SEED_FILE.read_text(encoding="utf-8")):
        if rules.normalized(item["term"]) in known:
            continue
        await words.add(actor=actor, term=item["term"], expansions=item["expansions"],
                        two_way=item.get("two_way", True), note=item.get("note", ""))
        added += 1
    return {"added": added, "kept": len(known)}


async def _load_dictionary() -> rules.Dictionary:
    rows = await SearchWord.all().order_by("id").values_list("term", "expansions", "two_way")
    return rules.compile_dictionary(rules.Entry(term, tuple(expansions), bool(two_way))
                                    for term, expansions, two_way in rows)


def _valid(term: str, expansions: list[str], two_way: bool, note: str) -> rules.Entry:
    found = rules.problems(term, expansions, note)
    entry = rules.entry(term, expansions, two_way, note) if not found else None
    if entry is not None:
        found = rules.redundancy(entry)
    if found:
        raise InvalidSearchWord("请检查以下字段：" + "、".join(dict.fromkeys(p["field"] for p in found)),
                                errors=found)
    return entry


def _fields(entry: rules.Entry) -> dict:
    return {"term": entry.term, "expansions": list(entry.expansions), "two_way": entry.two_way,
            "note": entry.note}


def _snapshot(word: SearchWord) -> dict:
    return {"term": word.term, "expansions": list(word.expansions), "two_way": word.two_way,
            "note": word.note, "version": word.version}


def _view(word: SearchWord) -> SearchWordView:
    return SearchWordView(id=word.id, term=word.term, expansions=tuple(word.expansions), two_way=word.two_way,
                          note=word.note, version=word.version, created_by=word.created_by,
                          updated_by=word.updated_by, created_at=word.created_at, updated_at=word.updated_at)


async def _word(word_id: int) -> SearchWord:
    word = await SearchWord.get_or_none(id=word_id) if is_row_id(word_id) else None
    if word is None:
        raise SearchWordNotFound(f"搜索词 {word_id} 不存在")
    return word


def _require_version(version: int | None) -> None:
    if version is None:
        raise SearchWordVersionRequired("修改或删除搜索词须提供版本号（If-Match 请求头或 version 字段）")


def _check_version(word: SearchWord, version: int | None) -> None:
    if version is not None and version != word.version:
        raise _conflict(word.id, word.version)


def _conflict(word_id: int, current: int | None = None) -> SearchWordVersionConflict:
    extra = {"current_version": current} if current is not None else {}
    return SearchWordVersionConflict(f"搜索词 {word_id} 已被他人修改，请刷新后重试", **extra)


def _exists(term: str) -> SearchWordExists:
    return SearchWordExists(f"搜索词“{term}”已存在，请修改原有条目")
