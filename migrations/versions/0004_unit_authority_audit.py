"""unit authority over organisations and experts, change requests, audit units and checkpoints

Revision ID: 0004
Revises: 0007
Create Date: 2026-12-02 13:00:00

Data migration: every organisation gets the unit it is registered with (matched by the registration or
filing authority's name, else by district, else the top unit); every expert profile the top unit (the pool
was the city's until now); every audit row the unit(s) derived from its object, as grants.core.audit.units_of
does for new rows. Old audit rows keep hash_version 1, whose hash does not cover the new columns.
"""
from alembic import op
import sqlalchemy as sa

import grants.core.timeutil


revision = "0004"
down_revision = "0007"
branch_labels = None
depends_on = None


# object_type → SQL giving the unit of the object named by audit_log.object_id (the same paths as
# grants.core.audit.units_of walks for new rows).
_CALL_OF = {
    "call": "SELECT c.host_unit_id FROM call c WHERE CAST(c.id AS VARCHAR(50)) = audit_log.object_id",
    "application": "SELECT c.host_unit_id FROM application a JOIN call c ON c.id = a.call_id "
                   "WHERE CAST(a.id AS VARCHAR(50)) = audit_log.object_id",
    "award": "SELECT c.host_unit_id FROM award a JOIN call c ON c.id = a.call_id "
             "WHERE CAST(a.id AS VARCHAR(50)) = audit_log.object_id",
    "public_notice": "SELECT c.host_unit_id FROM public_notice n JOIN call c ON c.id = n.call_id "
                     "WHERE CAST(n.id AS VARCHAR(50)) = audit_log.object_id",
    "objection": "SELECT c.host_unit_id FROM objection o JOIN public_notice n ON n.id = o.notice_id "
                 "JOIN call c ON c.id = n.call_id WHERE CAST(o.id AS VARCHAR(50)) = audit_log.object_id",
    "contract": "SELECT c.host_unit_id FROM contract k JOIN call c ON c.id = k.call_id "
                "WHERE CAST(k.id AS VARCHAR(50)) = audit_log.object_id",
    "tranche": "SELECT c.host_unit_id FROM tranche t JOIN contract k ON k.id = t.contract_id "
               "JOIN call c ON c.id = k.call_id WHERE CAST(t.id AS VARCHAR(50)) = audit_log.object_id",
    "payment": "SELECT c.host_unit_id FROM payment p JOIN call c ON c.id = p.call_id "
               "WHERE CAST(p.id AS VARCHAR(50)) = audit_log.object_id",
    "project_hold": "SELECT c.host_unit_id FROM project_hold h JOIN contract k ON k.id = h.contract_id "
                    "JOIN call c ON c.id = k.call_id WHERE CAST(h.id AS VARCHAR(50)) = audit_log.object_id",
    "progress_report": "SELECT c.host_unit_id FROM progress_report r JOIN contract k ON k.id = r.contract_id "
                       "JOIN call c ON c.id = k.call_id WHERE CAST(r.id AS VARCHAR(50)) = audit_log.object_id",
    "assessment": "SELECT c.host_unit_id FROM assessment s JOIN contract k ON k.id = s.contract_id "
                  "JOIN call c ON c.id = k.call_id WHERE CAST(s.id AS VARCHAR(50)) = audit_log.object_id",
    "conflict": "SELECT c.host_unit_id FROM conflict x JOIN application a ON a.id = x.application_id "
                "JOIN call c ON c.id = a.call_id WHERE CAST(x.id AS VARCHAR(50)) = audit_log.object_id",
    "review_assignment": "SELECT c.host_unit_id FROM review_assignment x JOIN application a "
                         "ON a.id = x.application_id JOIN call c ON c.id = a.call_id "
                         "WHERE CAST(x.id AS VARCHAR(50)) = audit_log.object_id",
    "review": "SELECT c.host_unit_id FROM review x JOIN review_assignment s ON s.id = x.assignment_id "
              "JOIN application a ON a.id = s.application_id JOIN call c ON c.id = a.call_id "
              "WHERE CAST(x.id AS VARCHAR(50)) = audit_log.object_id",
    "panel_member": "SELECT c.host_unit_id FROM panel_member m JOIN call c ON c.id = m.call_id "
                    "WHERE CAST(m.id AS VARCHAR(50)) = audit_log.object_id",
    "call_document": "SELECT c.host_unit_id FROM call_document d JOIN call c ON c.id = d.call_id "
                     "WHERE CAST(d.id AS VARCHAR(50)) = audit_log.object_id",
    "brand_selection": "SELECT s.host_unit_id FROM brand_selection s "
                       "WHERE CAST(s.id AS VARCHAR(50)) = audit_log.object_id",
    "brand_nomination": "SELECT s.host_unit_id FROM brand_nomination n JOIN brand_selection s "
                        "ON s.id = n.selection_id WHERE CAST(n.id AS VARCHAR(50)) = audit_log.object_id",
    "organization": "SELECT o.host_unit_id FROM organization o WHERE CAST(o.id AS VARCHAR(50)) = audit_log.object_id",
    "expert_profile": "SELECT e.host_unit_id FROM expert_profile e "
                      "WHERE CAST(e.id AS VARCHAR(50)) = audit_log.object_id",
    "user": "SELECT COALESCE(u.host_unit_id, (SELECT o.host_unit_id FROM organization_member m "
            "JOIN organization o ON o.id = m.organization_id WHERE m.user_id = u.id)) "
            "FROM \"user\" u WHERE CAST(u.id AS VARCHAR(50)) = audit_log.object_id",
    "host_unit": "SELECT COALESCE(h.parent_id, h.id) FROM host_unit h "
                 "WHERE CAST(h.id AS VARCHAR(50)) = audit_log.object_id",
}


def upgrade():
    with op.batch_alter_table("organization", schema=None) as batch_op:
        batch_op.add_column(sa.Column("host_unit_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("legal_representative", sa.String(length=50), nullable=False,
                                      server_default=""))
        batch_op.create_foreign_key(batch_op.f("fk_organization_host_unit_id_host_unit"), "host_unit",
                                    ["host_unit_id"], ["id"])
        batch_op.create_index(batch_op.f("ix_organization_host_unit_id"), ["host_unit_id"], unique=False)

    with op.batch_alter_table("expert_profile", schema=None) as batch_op:
        batch_op.add_column(sa.Column("host_unit_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_expert_profile_host_unit_id_host_unit"), "host_unit",
                                    ["host_unit_id"], ["id"])
        batch_op.create_index(batch_op.f("ix_expert_profile_host_unit_id"), ["host_unit_id"], unique=False)

    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unit_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("unit2_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("hash_version", sa.Integer(), nullable=False, server_default="1"))
        batch_op.create_foreign_key(batch_op.f("fk_audit_log_unit_id_host_unit"), "host_unit", ["unit_id"], ["id"])
        batch_op.create_foreign_key(batch_op.f("fk_audit_log_unit2_id_host_unit"), "host_unit", ["unit2_id"], ["id"])
        batch_op.create_index("ix_audit_log_at_id", ["at", "id"], unique=False)
        batch_op.create_index("ix_audit_log_unit_id_id", ["unit_id", "id"], unique=False)
        batch_op.create_index("ix_audit_log_unit2_id_id", ["unit2_id", "id"], unique=False)

    op.create_table(
        "audit_checkpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", grants.core.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("signature", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoint")),
    )

    op.create_table(
        "organization_change_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("host_unit_id", sa.Integer(), nullable=True),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.Column("certificate_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("requested_at", grants.core.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", grants.core.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.String(length=500), nullable=False),
        sa.CheckConstraint("status IN ('pending','approved','rejected')",
                           name=op.f("ck_organization_change_request_status_known")),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"], ondelete="CASCADE",
                                name=op.f("fk_organization_change_request_organization_id_organization")),
        sa.ForeignKeyConstraint(["host_unit_id"], ["host_unit.id"],
                                name=op.f("fk_organization_change_request_host_unit_id_host_unit")),
        sa.ForeignKeyConstraint(["certificate_id"], ["stored_file.id"],
                                name=op.f("fk_organization_change_request_certificate_id_stored_file")),
        sa.ForeignKeyConstraint(["requested_by_id"], ["user.id"],
                                name=op.f("fk_organization_change_request_requested_by_id_user")),
        sa.ForeignKeyConstraint(["decided_by_id"], ["user.id"],
                                name=op.f("fk_organization_change_request_decided_by_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organization_change_request")),
    )
    with op.batch_alter_table("organization_change_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_organization_change_request_organization_id"), ["organization_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_organization_change_request_host_unit_id"), ["host_unit_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_organization_change_request_status"), ["status"], unique=False)

    _fill_units()


def _fill_units():
    """Give existing organisations, experts and audit rows their units."""
    conn = op.get_bind()
    top = conn.execute(sa.text("SELECT id FROM host_unit WHERE parent_id IS NULL ORDER BY id LIMIT 1")).scalar()
    # The registration or filing authority named like a unit of the tree; else the unit of the district.
    conn.execute(sa.text(
        "UPDATE organization SET host_unit_id = (SELECT h.id FROM host_unit h WHERE "
        "h.name = organization.registration_authority OR h.short_name = organization.registration_authority "
        "OR h.name = organization.filing_office OR h.short_name = organization.filing_office "
        "ORDER BY h.id LIMIT 1)"))
    conn.execute(sa.text(
        "UPDATE organization SET host_unit_id = (SELECT h.id FROM host_unit h WHERE h.level = 'district' "
        "AND h.region_name <> '' AND h.region_name = organization.district ORDER BY h.id LIMIT 1) "
        "WHERE host_unit_id IS NULL"))
    if top is not None:
        conn.execute(sa.text("UPDATE organization SET host_unit_id = :u WHERE host_unit_id IS NULL"), {"u": top})
        conn.execute(sa.text("UPDATE expert_profile SET host_unit_id = :u WHERE host_unit_id IS NULL"), {"u": top})

    conn.execute(sa.text("UPDATE audit_log SET unit_id = host_unit_id WHERE host_unit_id IS NOT NULL"))
    for object_type, unit_sql in _CALL_OF.items():
        conn.execute(sa.text(f"UPDATE audit_log SET unit_id = ({unit_sql}) "
                             "WHERE unit_id IS NULL AND object_type = :t"), {"t": object_type})
    # A unit's own creation also belongs to the unit itself (its parent is the first unit).
    conn.execute(sa.text("UPDATE audit_log SET unit2_id = (SELECT h.id FROM host_unit h WHERE "
                         "CAST(h.id AS VARCHAR(50)) = audit_log.object_id AND h.parent_id IS NOT NULL) "
                         "WHERE object_type = 'host_unit'"))


def downgrade():
    op.drop_table("organization_change_request")
    op.drop_table("audit_checkpoint")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_unit2_id_id")
        batch_op.drop_index("ix_audit_log_unit_id_id")
        batch_op.drop_index("ix_audit_log_at_id")
        batch_op.drop_constraint(batch_op.f("fk_audit_log_unit2_id_host_unit"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_audit_log_unit_id_host_unit"), type_="foreignkey")
        batch_op.drop_column("hash_version")
        batch_op.drop_column("unit2_id")
        batch_op.drop_column("unit_id")
    with op.batch_alter_table("expert_profile", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_expert_profile_host_unit_id"))
        batch_op.drop_constraint(batch_op.f("fk_expert_profile_host_unit_id_host_unit"), type_="foreignkey")
        batch_op.drop_column("host_unit_id")
    with op.batch_alter_table("organization", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organization_host_unit_id"))
        batch_op.drop_constraint(batch_op.f("fk_organization_host_unit_id_host_unit"), type_="foreignkey")
        batch_op.drop_column("legal_representative")
        batch_op.drop_column("host_unit_id")
