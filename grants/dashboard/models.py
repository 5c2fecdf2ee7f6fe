"""Per-project figures kept for the dashboard (统计): what each funded project has been awarded, paid,
withheld and reclaimed, per funding source, and its outputs promised and achieved.

These rows are derived, never edited: summary.refresh() recomputes a project's rows from the contracts,
tranches, payments, reclaims and reports whenever one of them changes (a session hook, in the same
transaction), and `flask --app wsgi dashboard rebuild` recomputes them all. They exist so that the dashboard
adds up 10,000 projects instead of joining every payment, tranche and report of a province's programme on
each request. The ledger (finance/ledger.py) stays the source of truth; tests check the two agree.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from grants.extensions import db


class ProjectSummary(db.Model):
    """One row per application that has a confirmed award or a contract."""

    __tablename__ = "project_summary"
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("application.id", ondelete="CASCADE"),
                                                primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("call.id"), index=True)
    # A confirmed award (立项) and its amount.
    funded: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    awarded_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    # Released payments, the withheld parts of assessed tranches, and reclaims (the ledger's definitions).
    paid_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    withheld_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    reclaimed_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    # Finished (结项): the contract completed or the final assessment set a grade (a failed final withholds
    # the last tranche and leaves the contract open for the reclaim).
    finished: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    final_grade: Mapped[str | None] = mapped_column(sa.String(20))


class ProjectSourceSummary(db.Model):
    """A project's money per funding source: awarded = its allocation; paid, withheld and reclaimed = the
    ledger's charges (finance SourceCharge) summed. No source = an award without allocations."""

    __tablename__ = "project_source_summary"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("application.id", ondelete="CASCADE"), index=True)
    funding_source_id: Mapped[int | None] = mapped_column(sa.ForeignKey("call_funding_source.id"))
    awarded_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    paid_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    withheld_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    reclaimed_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class ProjectOutputSummary(db.Model):
    """A project's output of one kind: promised (funded projects' targets) and achieved (the contract's
    latest accepted report)."""

    __tablename__ = "project_output_summary"
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("application.id", ondelete="CASCADE"),
                                                primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    promised: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    achieved: Mapped[int] = mapped_column(sa.BigInteger, default=0)


__all__ = ["ProjectSummary", "ProjectSourceSummary", "ProjectOutputSummary"]
