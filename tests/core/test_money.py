import pytest

from grants.core.money import Money, MoneyError, capitals, yuan


@pytest.mark.parametrize("text,fen", [
    ("12345.67", 1234567), ("12,345.6", 1234560), ("¥50000", 5000000), ("0.05", 5), (" 100 元", 10000), (7, 700),
])
def test_parse_yuan(text, fen):
    assert Money.from_yuan(text).fen == fen


@pytest.mark.parametrize("bad", ["", "abc", "1.234", "1e5", "--1", "12.3.4"])
def test_parse_rejects_with_chinese_message(bad):
    with pytest.raises(MoneyError, match="金额格式不正确"):
        Money.from_yuan(bad)


def test_format_and_capitals():
    assert Money(1234567).format() == "¥12,345.67"
    assert Money(-5).format() == "-¥0.05"
    assert Money(1234567).capitals() == "人民币壹万贰仟叁佰肆拾伍元陆角柒分"
    assert Money(5000000).capitals() == "人民币伍万元整"
    assert Money(10000000).capitals() == "人民币壹拾万元整"
    assert Money(0).capitals() == "人民币零元整"
    assert yuan(None) == "" and yuan(100) == "¥1.00" and capitals(5) == "人民币伍分"


def test_split_adds_up_exactly_and_remainder_goes_last():
    parts = Money(10001).split([40, 30, 30])
    assert [p.fen for p in parts] == [4000, 3000, 3001]
    assert sum(p.fen for p in parts) == 10001
    parts = Money(3333333).split([33, 33, 34])
    assert sum(p.fen for p in parts) == 3333333
    with pytest.raises(MoneyError):
        Money(100).split([50, 40])


def test_times_ratio_rounds_half_up():
    assert Money(1001).times_ratio(50).fen == 501
    assert Money(3000000).times_ratio(80).fen == 2400000
    assert (Money(5) + Money(7) - Money(2)).fen == 10


def test_parse_refuses_absurd_amounts_with_chinese_message():
    assert Money.from_yuan("999999999999.99").fen == 99_999_999_999_999
    with pytest.raises(MoneyError, match="金额过大"):
        Money.from_yuan("1000000000000")
    with pytest.raises(MoneyError, match="金额过大"):
        Money.from_yuan("9" * 30)
