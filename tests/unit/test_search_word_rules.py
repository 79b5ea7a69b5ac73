"""Search words as pure rules (domain/catalog/search_word_rules.py): what a valid entry is, and what
a query becomes — examples, and properties over any dictionary, cycles included."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.catalog import search_rules as sr
from domain.catalog import search_word_rules as rules
from domain.catalog.search_word_rules import Entry, alternatives, compile_dictionary, entry, problems, redundancy


def _dictionary(*entries: Entry) -> rules.Dictionary:
    return compile_dictionary(entries)


SHEBAO = Entry("社保", ("社会保险", "社会保障"))
SHEBAOKA = Entry("社保卡", ("社会保障卡",))
GJJ = Entry("公积金", ("住房公积金",))
HUKOU = Entry("户口", ("户籍",))
NIANJIAN = Entry("年检", ("机动车检验",), two_way=False)


# --- validation -----------------------------------------------------------------------------------

def _fields(found: list[dict]) -> list[str]:
    return [p["field"] for p in found]


def test_a_plain_entry_is_valid_and_normalized():
    assert problems("社保", ["社会保险", "社会保障"]) == []
    assert entry(" ETC ", ["电子不停车收费"], True, " 高速 ") == Entry("etc", ("电子不停车收费",), True, "高速")
    assert problems(" ETC ", ["电子不停车收费"]) == []


def test_bad_entries_say_which_field():
    assert _fields(problems("", ["社会保险"])) == ["term"]
    assert _fields(problems("社", ["社会保险"])) == ["term"]  # one character would widen nearly everything
    assert _fields(problems("社 保", ["社会保险"])) == ["term"]  # no spaces or punctuation inside
    assert _fields(problems("社保！", ["社会保险"])) == ["term"]
    assert _fields(problems("社" * 17, ["社会保险"])) == ["term"]
    assert _fields(problems("社保", [])) == ["expansions"]
    assert _fields(problems("社保", ["社保"])) == ["expansions.0"]  # a term equal to its expansion
    assert _fields(problems("社保", ["社会保险", "社会保险"])) == ["expansions.1"]
    assert _fields(problems("社保", ["社会保险", "险"])) == ["expansions.1"]
    assert _fields(problems("社保", ["社会保险"] + [f"社会保险{i}" for i in range(8)])) == ["expansions"]
    assert _fields(problems("社保", ["社会保险"], "注" * 201)) == ["note"]


def test_a_one_way_expansion_holding_its_term_changes_nothing():
    assert _fields(redundancy(Entry("公积金", ("住房公积金",), two_way=False))) == ["expansions.0"]
    assert redundancy(GJJ) == []  # two-way: 住房公积金 finds 公积金


# --- the dictionary and the expansion ------------------------------------------------------------

def test_a_term_finds_its_expansions_and_back_when_two_way():
    words = _dictionary(SHEBAO, NIANJIAN)
    assert alternatives("社保", words) == ("社保", "社会保险", "社会保障")
    assert alternatives("社会保险", words) == ("社会保险", "社保")  # back to the term, not to 社会保障
    assert alternatives("年检", words) == ("年检", "机动车检验")
    assert alternatives("机动车检验", words) == ("机动车检验",)  # one way


def test_a_term_inside_a_longer_query():
    words = _dictionary(SHEBAO)
    assert alternatives("查社保缴费", words) == ("查社保缴费", "查社会保险缴费", "查社会保障缴费")


def test_several_terms_simplest_readings_first():
    words = _dictionary(SHEBAO, HUKOU)
    assert alternatives("户口社保", words) == ("户口社保", "户籍社保", "户口社会保险", "户口社会保障",
                                             "户籍社会保险", "户籍社会保障")


def test_the_longest_term_wins_where_terms_overlap():
    words = _dictionary(SHEBAO, SHEBAOKA)
    assert alternatives("社保卡申领", words) == ("社保卡申领", "社会保障卡申领")


def test_an_alternative_holding_the_query_or_another_alternative_is_dropped():
    assert alternatives("公积金", _dictionary(GJJ)) == ("公积金",)  # 住房公积金 holds 公积金: found already
    assert alternatives("住房公积金提取", _dictionary(GJJ)) == ("住房公积金提取", "公积金提取")
    many = _dictionary(Entry("驾照", ("驾驶证", "机动车驾驶证")))
    assert alternatives("驾照换证", many) == ("驾照换证", "驾驶证换证")


def test_no_dictionary_no_term_or_one_character_changes_nothing():
    assert alternatives("社保", rules.EMPTY) == ("社保",)
    assert alternatives("登记", _dictionary(SHEBAO)) == ("登记",)
    assert alternatives("社", _dictionary(SHEBAO)) == ("社",)


def test_the_alternatives_are_capped():
    words = _dictionary(*(Entry(f"{a}{a}", tuple(f"{a}{b}{b}" for b in "一二三四五六七八"))
                          for a in "甲乙丙丁"))
    found = alternatives("甲甲乙乙丙丙丁丁", words)
    assert len(found) == rules.MAX_ALTERNATIVES and found[0] == "甲甲乙乙丙丙丁丁"


def test_search_reads_the_alternatives_as_more_phrases():
    text = sr.with_alternatives(sr.text_query("社保"), alternatives("社保", _dictionary(SHEBAO))[1:])
    assert text.phrases() == [["社保"], ["社会", "会保", "保险"], ["社会", "会保", "保障"]]
    starts = sr.pg_tsquery(text, sr.FacetQuery(), sr.Step(sr.STARTS, sr.COLD))
    assert starts == "(('^社保':A) | ('^社会':A <-> '会保':A <-> '保险':A) | ('^社会':A <-> '会保':A <-> '保障':A))"
    assert sr.fts5_query(text, sr.FacetQuery(), sr.Step(sr.CONTAINS, sr.HOT)) == (
        '(tier_name : ("h社保" OR "h社会 h会保 h保险" OR "h社会 h会保 h保障") '
        'NOT tier_name : (^"h社保" OR ^"h社会 h会保 h保险" OR ^"h社会 h会保 h保障"))')
    plain = sr.text_query("社保")
    assert sr.with_alternatives(plain, []) is plain
    assert sr.with_alternatives(sr.text_query("社"), ["社会"]).alternatives == ()


def test_pinyin_stays_the_query_as_typed():
    text = sr.with_alternatives(sr.text_query("etc"), ["电子不停车收费"])
    pinyin = sr.pg_tsquery(text, sr.FacetQuery(), sr.Step(sr.PINYIN, sr.COLD))
    assert "'et':B" in pinyin and "'电子':B" not in pinyin and "'电子':A" in pinyin  # not in the name either way


# --- properties -----------------------------------------------------------------------------------

_CHARS = "社保会险医疗户口籍证件卡"  # few characters: terms overlap, contain each other, form cycles
_word = st.text(alphabet=_CHARS, min_size=2, max_size=5)
_entries = st.lists(st.builds(Entry, _word, st.lists(_word, min_size=1, max_size=3, unique=True).map(tuple),
                              st.booleans()), max_size=8)


@settings(max_examples=300, deadline=None)
@given(_entries, st.text(alphabet=_CHARS + "查询缴费", min_size=0, max_size=14))
def test_any_dictionary_any_query(entries, query):
    """Cycles (A → B, B → A), chains and overlaps included: the literal first, at most the cap,
    all different, none holding the query or another alternative, the same answer every time."""
    words = compile_dictionary(entries)
    found = alternatives(query, words)
    assert found[0] == query
    assert len(found) <= rules.MAX_ALTERNATIVES
    assert len(set(found)) == len(found)
    for i, word in enumerate(found[1:], start=1):
        assert query not in word
        assert not any(other in word for j, other in enumerate(found[1:], start=1) if j != i)
    assert alternatives(query, words) == found


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="甲乙丙", max_size=4), st.text(alphabet="甲乙丙", max_size=4), st.booleans())
def test_a_term_anywhere_in_a_query_also_means_its_expansion(before, after, two_way):
    """Around the term, text that holds no key: the query with the expansion in its place is found."""
    words = compile_dictionary([Entry("社保", ("社会保险",), two_way)])
    query = before + "社保" + after
    assert before + "社会保险" + after in alternatives(query, words)
    if two_way:
        assert before + "社保" + after in alternatives(before + "社会保险" + after, words)
