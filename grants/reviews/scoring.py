"""Pure arithmetic of expert scores: review totals, aggregation (mean / trimmed mean), spread, pitch
combination, z-scores, the ranking order. No database here, so the figures are pinned by table tests."""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Iterable, Sequence

TWO_PLACES = Decimal("0.01")
HUNDRED = Decimal(100)
# A spread (max − min of the review totals) above this many points is flagged for the panel's attention.
DEFAULT_SPREAD_THRESHOLD = Decimal(20)
# Trimmed mean drops one highest and one lowest total only when there are at least this many reviews.
TRIM_MIN_REVIEWS = 5


def q2(value: Decimal | None) -> Decimal | None:
    """Round half up to 2 places (the figures shown and compared)."""
    return None if value is None else value.quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def review_total(points_sum: int | Decimal, max_sum: int | Decimal) -> Decimal:
    """A review's total on a 100-point scale: Σ points × 100 / Σ max points.

    Each criterion weighs its max_points (需求分析 20, 项目设计 30 …); when the rubric adds up to 100 this is
    simply the sum of the points. Kept unrounded; only aggregates are rounded."""
    max_sum = Decimal(max_sum)
    if max_sum <= 0:
        return Decimal(0)
    return Decimal(points_sum) * HUNDRED / max_sum


def weighted_total(points: dict[int, int | Decimal], max_points: dict[int, int]) -> Decimal:
    """Σ points over the rubric's criteria, scaled to 100 by the rubric's Σ max points."""
    return review_total(sum(Decimal(points.get(c, 0)) for c in max_points), sum(max_points.values()))


def aggregate(totals: Sequence[Decimal], method: str = "mean") -> Decimal | None:
    """Mean of the review totals, or trimmed mean (drop one highest and one lowest) with ≥ 5 reviews."""
    if not totals:
        return None
    values = sorted(Decimal(t) for t in totals)
    if method == "trimmed_mean" and len(values) >= TRIM_MIN_REVIEWS:
        values = values[1:-1]
    return sum(values, Decimal(0)) / Decimal(len(values))


def std_dev(totals: Sequence[Decimal]) -> Decimal | None:
    """Population standard deviation of the review totals (σ, not the sample s)."""
    if not totals:
        return None
    values = [Decimal(t) for t in totals]
    mean = sum(values, Decimal(0)) / len(values)
    var = sum(((v - mean) ** 2 for v in values), Decimal(0)) / len(values)
    return var.sqrt()


def spread(totals: Sequence[Decimal]) -> Decimal | None:
    return (max(totals) - min(totals)) if totals else None


@dataclass
class Summary:
    """One application's reviews of one stage, on the 100-point scale, rounded to 2 places."""

    score: Decimal | None = None
    std_dev: Decimal | None = None
    spread: Decimal | None = None


def summarise(sums: Sequence[int], max_sum: int, method: str = "mean") -> Summary:
    """The same figures as aggregate()/std_dev()/spread() of the review totals, computed from the integer
    point sums (Σ points of each review) with one exact division each — the fast path of the ranking."""
    if not sums or max_sum <= 0:
        return Summary()
    values = sorted(sums)
    kept = values[1:-1] if method == "trimmed_mean" and len(values) >= TRIM_MIN_REVIEWS else values
    score = Decimal(sum(kept) * 100) / Decimal(len(kept) * max_sum)
    n = len(values)
    total, squares = sum(values), sum(v * v for v in values)
    # σ in binary floating point: exact to ~15 digits, far beyond the 2 places shown.
    sd = Decimal(math.sqrt(n * squares - total * total) * 100 / (n * max_sum))
    spread_ = Decimal((values[-1] - values[0]) * 100) / Decimal(max_sum)
    return Summary(score=q2(score), std_dev=q2(sd), spread=q2(spread_))


def combine(written: Decimal | None, pitch: Decimal | None, pitch_weight_pct: int) -> Decimal | None:
    """Final score: the written score, or with a pitch score written × (100 − w)% + pitch × w%."""
    if written is None:
        return None
    if pitch is None:
        return written
    w = Decimal(pitch_weight_pct)
    return (written * (HUNDRED - w) + pitch * w) / HUNDRED


def z_scores(rows: Iterable[tuple[int, int, Decimal]]) -> dict[tuple[int, int], float]:
    """Per-expert z-scores: for (expert, application, total) rows, (total − expert's mean) / expert's σ.

    Shown as advice only (a lenient or severe expert stands out); an expert with fewer than 2 reviews or
    σ = 0 gets 0."""
    by_expert: dict[int, list[tuple[int, float]]] = {}
    for expert_id, application_id, total in rows:
        by_expert.setdefault(expert_id, []).append((application_id, float(total)))
    out: dict[tuple[int, int], float] = {}
    for expert_id, items in by_expert.items():
        values = [v for _a, v in items]
        mean = sum(values) / len(values)
        sd = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
        for application_id, v in items:
            out[(expert_id, application_id)] = 0.0 if len(values) < 2 or sd == 0 else (v - mean) / sd
    return out


_NEG_INF = Decimal("-Infinity")
_FAR_FUTURE = dt.datetime.max.replace(tzinfo=dt.timezone.utc)


def rank_key(final: Decimal | None, pitch: Decimal | None, written: Decimal | None, submitted_at,
             application_id: int, *, pitched_first: bool = False):
    """Sort key, best first: [pitched before not pitched,] final score, then the tie-break — pitch score,
    written score, earlier submission, smaller application id. Missing scores sort last."""
    return (
        0 if (not pitched_first or pitch is not None) else 1,
        -(final if final is not None else _NEG_INF),
        -(pitch if pitch is not None else _NEG_INF),
        -(written if written is not None else _NEG_INF),
        submitted_at or _FAR_FUTURE,
        application_id,
    )
