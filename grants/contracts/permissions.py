"""Who may see and act on contracts. Deny by default.

Organisation members: only their own organisation's contracts, once issued. Officers: contracts of calls
whose host unit is in their unit's subtree; finance and auditors read the same scope. Evaluators reach
contracts only through the assessments assigned to them (see assessments.permissions).
"""
from __future__ import annotations

from grants.accounts.models import Role
from grants.awards.models import AwardStatus
from grants.contracts.models import ContractStatus
from grants.contracts.states import CONTRACT_WORKFLOW
from grants.core.permissions import is_authenticated
from grants.core.units import in_unit_subtree
from grants.organizations.permissions import is_member, is_org_admin


def in_unit_scope(user, call) -> bool:
    """The call's host unit is the user's unit or one below it (never a sibling's)."""
    return is_authenticated(user) and in_unit_subtree(user, call.host_unit_id)


def is_own_contract(user, contract) -> bool:
    return is_authenticated(user) and user.has_role(Role.APPLICANT) and is_member(user, contract.organization)


def is_contract_officer(user, contract) -> bool:
    return is_authenticated(user) and user.has_role(Role.OFFICER) and in_unit_scope(user, contract.call)


def can_list_contracts(user) -> bool:
    """The contracts list: officers, finance and auditors of a host unit."""
    return is_authenticated(user) and user.has_role(Role.OFFICER, Role.FINANCE, Role.AUDITOR) and user.host_unit_id is not None


def can_list_own_contracts(user) -> bool:
    return is_authenticated(user) and user.has_role(Role.APPLICANT) and user.organization is not None


def can_view_contract(user, contract) -> bool:
    """The organisation once the contract is issued (drafts stay internal); staff of the unit subtree."""
    if not is_authenticated(user):
        return False
    if is_own_contract(user, contract):
        return contract.status != ContractStatus.DRAFT
    return user.has_role(Role.OFFICER, Role.FINANCE, Role.AUDITOR) and in_unit_scope(user, contract.call)


def can_download_contract(user, contract) -> bool:
    """The contract PDF and the stamped scan: whoever may view the contract."""
    return can_view_contract(user, contract)


def can_create_contract(user, award) -> bool:
    return (is_authenticated(user) and user.has_role(Role.OFFICER) and in_unit_scope(user, award.call)
            and award.status == AwardStatus.CONFIRMED)


def can_edit_contract(user, contract) -> bool:
    return is_contract_officer(user, contract) and contract.status == ContractStatus.DRAFT


def can_issue_contract(user, contract) -> bool:
    return is_contract_officer(user, contract) and CONTRACT_WORKFLOW.allows(contract.status, "issue")


def can_recall_contract(user, contract) -> bool:
    return is_contract_officer(user, contract) and CONTRACT_WORKFLOW.allows(contract.status, "recall")


def can_sign_contract(user, contract) -> bool:
    """Only an administrator of the organisation signs (accepts) an issued contract."""
    return (is_authenticated(user) and user.has_role(Role.APPLICANT) and is_org_admin(user, contract.organization)
            and CONTRACT_WORKFLOW.allows(contract.status, "sign"))


def can_countersign_contract(user, contract) -> bool:
    return is_contract_officer(user, contract) and CONTRACT_WORKFLOW.allows(contract.status, "countersign")


def can_terminate_contract(user, contract) -> bool:
    return is_contract_officer(user, contract) and CONTRACT_WORKFLOW.allows(contract.status, "terminate")


def can_complete_contract(user, contract) -> bool:
    from grants.contracts.services import can_be_completed

    return is_contract_officer(user, contract) and can_be_completed(contract)
