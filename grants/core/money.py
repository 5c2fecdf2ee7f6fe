"""Money in integer fen (分): arithmetic, parsing, ¥ formatting and Chinese capitals (大写).

Amounts are stored as integers because floats lose fen and SQLite has no decimal type.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import cn2an

from grants.core.errors import DomainError

# ASCII digits only ('\\d' also matches Arabic-Indic and other scripts' digits); thousands separators only in
# their right places, so '1,00' and '1,5' are refused instead of read as 100 and 15.
_AMOUNT_RE = re.compile(r"^-?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]{1,2})?$")
# Full-width digits, comma and point as typed with a Chinese input method; '，' becomes ',' and so follows
# the same placement rule.
_FULL_WIDTH = str.maketrans("０１２３４５６７８９－．，", "0123456789-.,")
# No amount in this domain comes near 1万亿 yuan; anything larger is a typing slip, and it would not fit the
# 64-bit columns either, so it is refused with a message instead of failing in the database.
MAX_YUAN = 10**12


class MoneyError(DomainError):
    """Raised for input that is not an amount in yuan with at most two decimals."""


@dataclass(frozen=True, order=True)
class Money:
    fen: int

    # --- construction -------------------------------------------------
    @classmethod
    def from_yuan(cls, text: str | int | Decimal) -> "Money":
        """Parse '12,345.67' / '¥12345.6' / 500 into Money; never goes through float."""
        if isinstance(text, int):
            return cls(text * 100)
        cleaned = str(text).strip().translate(_FULL_WIDTH).replace("¥", "").replace("￥", "")
        cleaned = cleaned.removesuffix("元").strip()
        if len(cleaned) > 40 or not _AMOUNT_RE.match(cleaned):
            raise MoneyError(f"金额格式不正确：{str(text)[:40]}（请填写数字，最多两位小数；千位分隔符须每三位一个）")
        try:
            value = Decimal(cleaned.replace(",", ""))
        except InvalidOperation as exc:  # pragma: no cover - regex already guards this
            raise MoneyError(str(text)) from exc
        if abs(value) >= MAX_YUAN:
            raise MoneyError(f"金额过大：{text}（不能超过 1 万亿元）")
        return cls(int(value * 100))

    # --- arithmetic ---------------------------------------------------
    def __add__(self, other: "Money") -> "Money":
        return Money(self.fen + other.fen)

    def __sub__(self, other: "Money") -> "Money":
        return Money(self.fen - other.fen)

    def __neg__(self) -> "Money":
        return Money(-self.fen)

    def __bool__(self) -> bool:
        return self.fen != 0

    def times_ratio(self, percent: int | Decimal) -> "Money":
        """self × percent %, rounded half up to the fen (used for payment ratios)."""
        value = (Decimal(self.fen) * Decimal(percent) / Decimal(100)).quantize(Decimal(1), rounding="ROUND_HALF_UP")
        return Money(int(value))

    def split(self, percents: list[int | Decimal]) -> list["Money"]:
        """Split by percentages that add up to 100; the rounding remainder goes to the last part,
        so the parts always add up exactly to the whole."""
        if sum(Decimal(p) for p in percents) != 100:
            raise MoneyError("各期比例之和必须为 100%")
        parts = [(Decimal(self.fen) * Decimal(p) / 100).quantize(Decimal(1), rounding="ROUND_DOWN") for p in percents[:-1]]
        parts_int = [int(p) for p in parts]
        parts_int.append(self.fen - sum(parts_int))
        return [Money(p) for p in parts_int]

    # --- display ------------------------------------------------------
    @property
    def yuan_text(self) -> str:
        """'12345.67' built from the integer, for form fields and cn2an."""
        sign = "-" if self.fen < 0 else ""
        whole, cents = divmod(abs(self.fen), 100)
        return f"{sign}{whole}.{cents:02d}"

    def format(self) -> str:
        """¥12,345.67"""
        sign = "-" if self.fen < 0 else ""
        whole, cents = divmod(abs(self.fen), 100)
        return f"{sign}¥{whole:,}.{cents:02d}"

    def capitals(self) -> str:
        """人民币壹万贰仟叁佰肆拾伍元陆角柒分 (大写)."""
        if self.fen == 0:
            return "人民币零元整"
        sign = "负" if self.fen < 0 else ""
        return "人民币" + sign + cn2an.an2cn(Money(abs(self.fen)).yuan_text, "rmb")

    def __str__(self) -> str:
        return self.format()


def yuan(fen: int | None) -> str:
    """Template filter: fen → ¥12,345.67 (empty for None)."""
    return "" if fen is None else Money(fen).format()


def capitals(fen: int | None) -> str:
    return "" if fen is None else Money(fen).capitals()
