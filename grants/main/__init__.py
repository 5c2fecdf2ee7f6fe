from flask import Blueprint

bp = Blueprint("main", __name__)


@bp.app_context_processor
def inject_navigation():
    """`nav_groups()` (the menus by stage) and `nav_badges()` (the workbench counts per menu) for base.html,
    computed only when a page renders them."""
    from flask_login import current_user

    from grants.main.navigation import nav_groups
    from grants.main.workbench import nav_counts

    def groups():
        return nav_groups(current_user) if current_user.is_authenticated else []

    return {"nav_groups": groups, "nav_badges": nav_counts}


from grants.main import views  # noqa: E402,F401
