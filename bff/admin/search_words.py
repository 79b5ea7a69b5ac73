"""Search words for catalog administrators (``/admin/v1/search-words``): the synonym and abbreviation
dictionary search expands queries with (社保 → 社会保险; docs/catalog.md, "Search words").

Catalog administrators change it; topic editors and operators may read it and try a query. A
change shows in every search on every instance at once. Entries are named by id (a term is
Chinese text, which no path segment carries here: bff/common/paths.py). A change or removal names
the version it is based on (``If-Match`` or ``version``); every answer about one entry carries its
``ETag``. Every change is audited (``search_word.create|update|delete``, target ``search_word``).
"""
from __future__ import annotations

from typing import Annotated

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, empty, json

from bff.admin.auth import admin_doc, current_admin, install_admin_guard, require_role
from bff.admin.presenters import version_of, when
from bff.common.docs import ETAG, IF_MATCH
from bff.common.parsing import parse_body, parse_query
from bff.common.schemas import Body, Out, Query, Time, Version, items_of
from domain.catalog.search_word_rules import EXPANSION_MAX, MAX_EXPANSIONS, NOTE_MAX, TERM_MAX
from domain.catalog.search_words import SearchWordView

bp = Blueprint("admin_search_words")
install_admin_guard(bp)

EDITORS = ("catalog_admin",)
READERS = ("catalog_admin", "topic_editor", "operator")
INVALID = ["invalid_search_word"]
VERSIONED = {400: ["invalid_input", "search_word_version_required"], 404: ["search_word_not_found"],
             409: ["search_word_version_conflict"]}
WORDS = ("Chinese characters, letters and digits, 2 or more, no spaces or punctuation; latin letters are "
         "kept in lower case")


Expansion = Annotated[str, Field(max_length=EXPANSION_MAX)]


class SearchWordIn(Body):
    term: str = Field(max_length=TERM_MAX, examples=["社保"],
                      description=f"what citizens type: {WORDS}; unique in the dictionary")
    expansions: list[Expansion] = Field(min_length=1, max_length=MAX_EXPANSIONS, examples=[["社会保险", "社会保障"]],
                                        description=f"what the catalog's names say instead (each {WORDS})")
    two_way: bool = Field(True, description="an expansion typed also finds the term (社会保险 finds 社保); "
                                            "never the term's other expansions")
    note: str = Field("", max_length=NOTE_MAX)


class SearchWordPut(SearchWordIn):
    version: Version | None = Field(None, description="the version read; or If-Match")


class SearchWordOut(Out):
    id: int
    term: str
    expansions: list[str]
    two_way: bool
    note: str
    version: int
    created_by: str
    updated_by: str
    created_at: Time
    updated_at: Time


SearchWordList = items_of(SearchWordOut)


class ExpansionQuery(Query):
    q: str = Field(min_length=1, max_length=60, description="a query as a citizen would type it")


class ExpansionOut(Out):
    q: str
    searched: list[str] = Field(description="what search looks for: the query as search reads it first, then "
                                            "what it also means through the search words; empty when nothing "
                                            "searchable is left")


@bp.get("/search-words")
@admin_doc("搜索词列表 List search words", roles=READERS, ok=(200, SearchWordList),
           description="The whole dictionary, by term.")
@require_role(*READERS)
async def list_words(request: Request) -> HTTPResponse:
    words = await request.app.ctx.catalog.words.list()
    return json({"items": [_word(word) for word in words]}, ensure_ascii=False)


@bp.post("/search-words")
@admin_doc("新增搜索词 Add a search word", roles=EDITORS, body=SearchWordIn, ok=(201, SearchWordOut),
           ok_headers=(ETAG,), errors={400: INVALID, 409: ["search_word_exists"]},
           description="In every search at once. A term already in the dictionary is 409: change its entry.")
@require_role(*EDITORS)
async def add(request: Request) -> HTTPResponse:
    body = parse_body(request, SearchWordIn)
    word = await request.app.ctx.catalog.words.add(actor=current_admin(request), request_id=str(request.id),
                                                   **body.model_dump())
    return _answer(word, status=201)


@bp.get("/search-words/expansion")
@admin_doc("试查搜索词 What a query is searched as", roles=READERS, ok=(200, ExpansionOut), query=ExpansionQuery,
           description="The alternatives search ORs for this query with the dictionary as it is now.")
@require_role(*READERS)
async def expansion(request: Request) -> HTTPResponse:
    query = parse_query(request, ExpansionQuery)
    searched = await request.app.ctx.catalog.words.preview(query.q)
    return json({"q": query.q, "searched": list(searched)}, ensure_ascii=False)


@bp.put("/search-words/<word_id:search_word_id>")
@admin_doc("修改搜索词 Change a search word", roles=EDITORS, body=SearchWordPut, ok=(200, SearchWordOut),
           headers=(IF_MATCH,), ok_headers=(ETAG,),
           errors={**VERSIONED, 400: [*VERSIONED[400], *INVALID],
                   409: [*VERSIONED[409], "search_word_exists"]},
           description="Replaces the entry (term, expansions, direction, note); in every search at once.")
@require_role(*EDITORS)
async def change(request: Request, word_id: int) -> HTTPResponse:
    body = parse_body(request, SearchWordPut)
    values = body.model_dump(exclude={"version"})
    word = await request.app.ctx.catalog.words.change(
        actor=current_admin(request), word_id=word_id, version=version_of(request, body.version),
        request_id=str(request.id), **values)
    return _answer(word)


@bp.delete("/search-words/<word_id:search_word_id>")
@admin_doc("删除搜索词 Remove a search word", roles=EDITORS, headers=(IF_MATCH.needed(),), ok=(204, None),
           errors=VERSIONED, description="Out of every search at once.")
@require_role(*EDITORS)
async def remove(request: Request, word_id: int) -> HTTPResponse:
    await request.app.ctx.catalog.words.remove(actor=current_admin(request), word_id=word_id,
                                               version=version_of(request, None), request_id=str(request.id))
    return empty()


def _word(word: SearchWordView) -> dict:
    return {"id": word.id, "term": word.term, "expansions": list(word.expansions), "two_way": word.two_way,
            "note": word.note, "version": word.version, "created_by": word.created_by,
            "updated_by": word.updated_by, "created_at": when(word.created_at),
            "updated_at": when(word.updated_at)}


def _answer(word: SearchWordView, status: int = 200) -> HTTPResponse:
    return json(_word(word), status=status, ensure_ascii=False, headers={"ETag": f'"{word.version}"'})
