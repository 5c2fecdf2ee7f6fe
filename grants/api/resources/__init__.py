"""The API's resources, one flask-smorest Blueprint per domain, registered in this order."""
from grants.api.resources.account import blp as account_blp
from grants.api.resources.calls import blp as calls_blp
from grants.api.resources.organizations import blp as organizations_blp
from grants.api.resources.applications import blp as applications_blp
from grants.api.resources.awards import blp as awards_blp
from grants.api.resources.contracts import blp as contracts_blp
from grants.api.resources.payments import blp as payments_blp
from grants.api.resources.notifications import blp as notifications_blp
from grants.api.resources.reports import blp as reports_blp
from grants.api.resources.figures import blp as figures_blp

BLUEPRINTS = [account_blp, calls_blp, organizations_blp, applications_blp, awards_blp, contracts_blp,
              reports_blp, payments_blp, figures_blp, notifications_blp]
