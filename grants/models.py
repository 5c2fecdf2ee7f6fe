"""Imports every domain's models so SQLAlchemy and Alembic see the whole schema."""
from grants.accounts.models import *  # noqa: F401,F403
from grants.api.models import *  # noqa: F401,F403
from grants.applications.models import *  # noqa: F401,F403
from grants.awards.models import *  # noqa: F401,F403
from grants.brand.models import *  # noqa: F401,F403
from grants.assessments.models import *  # noqa: F401,F403
from grants.calls.models import *  # noqa: F401,F403
from grants.contracts.models import *  # noqa: F401,F403
from grants.core.models import *  # noqa: F401,F403
from grants.dashboard.models import *  # noqa: F401,F403
from grants.disclosure.models import *  # noqa: F401,F403
from grants.finance.models import *  # noqa: F401,F403
from grants.messages.models import *  # noqa: F401,F403
from grants.organizations.models import *  # noqa: F401,F403
from grants.reminders.models import *  # noqa: F401,F403
from grants.reviews.models import *  # noqa: F401,F403
from grants.search import models as _search_models  # noqa: F401,E402  (its PostgreSQL trigram indexes)
