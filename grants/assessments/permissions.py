"""Who may see and act on progress reports and assessments. Deny by default.

Organisation members: their own reports (and the assessments of them once submitted). Officers: reports
of contracts in their unit subtree; finance and auditors read them. Evaluators: only the reports and
assessments assigned to them.
"""
from __future__ import annotations

import sqlalchemy as sa

from grants.accounts.models import Role
from grants.assessments.models import Assessment, AssessmentStatus, ReportStatus
from grants.assessments.states import ASSESSMENT_WORKFLOW, REPORT_WORKFLOW
from grants.contracts.models import ContractStatus, TrancheStatus
from grants.contracts.permissions import in_unit_scope, is_contract_officer, is_own_contract
from grants.contracts.states import TRANCHE_WORKFLOW
from grants.core.permissions import is_authenticated
from grants.extensions import db


def is_assigned_evaluator(user, report) -> bool:
    if not (is_authenticated(user) and user.has_role(Role.EVALUATOR)):
        return False
    return db.session.scalar(sa.select(Assessment.id).where(
        Assessment.report_id == report.id, Assessment.evaluator_id == user.id).limit(1)) is not None


def can_view_report(user, report) -> bool:
    if not is_authenticated(user):
        return False
    if is_own_contract(user, report.contract):
        return True
    if report.status == ReportStatus.DRAFT:
        return False
    if user.has_role(Role.OFFICER, Role.FINANCE, Role.AUDITOR) and in_unit_scope(user, report.contract.call):
        return True
    return is_assigned_evaluator(user, report)


def can_download_evidence(user, report) -> bool:
    return can_view_report(user, report)


def can_start_report(user, tranche) -> bool:
    return (is_own_contract(user, tranche.contract) and tranche.contract.status == ContractStatus.ACTIVE
            and TRANCHE_WORKFLOW.allows(tranche.status, "submit_report"))


def can_edit_report(user, report) -> bool:
    return (is_own_contract(user, report.contract) and report.contract.status == ContractStatus.ACTIVE
            and REPORT_WORKFLOW.allows(report.status, "submit"))


def can_review_report(user, report) -> bool:
    """Officers of the unit subtree return or accept a submitted report (and assign the evaluator)."""
    return is_contract_officer(user, report.contract) and REPORT_WORKFLOW.allows(report.status, "accept")


def can_manage_rectification(user, tranche) -> bool:
    return is_contract_officer(user, tranche.contract) and tranche.status == TrancheStatus.RECTIFYING


def can_view_assessment(user, assessment) -> bool:
    if not is_authenticated(user):
        return False
    if user.id == assessment.evaluator_id and user.has_role(Role.EVALUATOR):
        return True
    contract = assessment.report.contract
    if is_own_contract(user, contract):
        return assessment.status == AssessmentStatus.SUBMITTED
    return user.has_role(Role.OFFICER, Role.FINANCE, Role.AUDITOR) and in_unit_scope(user, contract.call)


def can_score_assessment(user, assessment) -> bool:
    return (is_authenticated(user) and user.has_role(Role.EVALUATOR) and user.id == assessment.evaluator_id
            and ASSESSMENT_WORKFLOW.allows(assessment.status, "submit"))


def can_list_my_assessments(user) -> bool:
    return is_authenticated(user) and user.has_role(Role.EVALUATOR)


def can_edit_rubric(user, call) -> bool:
    """Officers of the call's unit subtree set its assessment rubric (评估指标)."""
    return is_authenticated(user) and user.has_role(Role.OFFICER) and in_unit_scope(user, call)


def can_list_reports(user) -> bool:
    """进度报告 list (reports due, overdue, submitted) of the unit subtree: officers and auditors."""
    return is_authenticated(user) and user.has_role(Role.OFFICER, Role.AUDITOR) and user.host_unit_id is not None


def can_chase_reports(user) -> bool:
    """催交 overdue reports from the list: officers (each tranche then only within their unit subtree)."""
    return is_authenticated(user) and user.has_role(Role.OFFICER) and user.host_unit_id is not None


def can_chase_report(user, tranche) -> bool:
    return is_contract_officer(user, tranche.contract)
