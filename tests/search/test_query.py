"""The query language: terms, phrases, fields and their Chinese aliases, and the refusals."""
import pytest

from grants.search.query import QueryError, parse_query


def test_terms_and_phrases():
    q = parse_query('楼道  "邻里 互助" 2026-002-0003')
    assert q.terms == ["楼道", "邻里 互助", "2026-002-0003"]
    assert not q.empty


def test_chinese_quotes_and_colon():
    q = parse_query("“邻里 互助” 年度：2025")
    assert q.terms == ["邻里 互助"]
    assert q.years == [2025]


@pytest.mark.parametrize("text", ["year:2025", "年度:2025", "年份:2025", "YEAR:2025", "年度：２０２５"])
def test_year_and_aliases(text):
    q = parse_query(text)
    assert q.years == [2025] and q.terms == []
    assert q.kinds() == ("application", "contract")


@pytest.mark.parametrize("text", ["status:已立项", "状态:已立项", "status:confirmed", "状态:\"已立项\""])
def test_status_by_label_or_code(text):
    q = parse_query(text)
    assert q.statuses["application"] == {"confirmed"}
    assert q.kinds() == ("application",)


def test_status_of_contracts_and_organisations():
    assert parse_query("status:履行中").kinds() == ("contract",)
    assert parse_query("状态:已认证").kinds() == ("organization",)


@pytest.mark.parametrize("field,attr", [("call", "calls"), ("征集", "calls"), ("org", "orgs"), ("机构", "orgs"),
                                        ("组织", "orgs"), ("category", "categories"), ("类别", "categories")])
def test_text_fields(field, attr):
    q = parse_query(f'{field}:"为老 服务" 楼道')
    assert getattr(q, attr) == ["为老 服务"]
    assert q.terms == ["楼道"]


def test_unknown_field_is_a_term():
    assert parse_query("10:30 楼道").terms == ["10:30", "楼道"]


def test_empty():
    assert parse_query("   ").empty
    assert parse_query(None).empty


@pytest.mark.parametrize("text", [
    "year:0001", "year:²", "year:20", "year:99999999999999999999", "年度:1999", "year:abcd", "year:",
    "status:不存在的状态", "楼道\x00", "楼道\x1b[31m", "a\nb", "楼" * 201, " ".join(["词"] * 11), "org:",
])
def test_bad_input_gives_a_message(text):
    with pytest.raises(QueryError) as exc:
        parse_query(text)
    assert exc.value.message


def test_twenty_digit_number_is_a_term():
    assert parse_query("12345678901234567890").terms == ["12345678901234567890"]
