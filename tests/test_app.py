"""Health check, error pages in Chinese, language switch, security settings."""
from config import ProductionConfig


def test_healthz_reports_database(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.json["status"] == "ok" and resp.json["database"] == "ok"


def test_404_page_is_chinese(client):
    resp = client.get("/no-such-page")
    assert resp.status_code == 404 and "页面不存在" in resp.get_data(as_text=True)


def test_403_page_is_chinese(client, login_as):
    login_as("applicant")
    resp = client.get("/admin/users")
    assert resp.status_code == 403 and "无权访问" in resp.get_data(as_text=True)


def test_500_page_is_chinese(app, client, monkeypatch):
    def boom():
        raise RuntimeError("boom")

    monkeypatch.setitem(app.view_functions, "main.healthz", boom)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    resp = client.get("/healthz", headers={"Accept": "text/html"})
    assert resp.status_code == 500 and "系统错误" in resp.get_data(as_text=True)


def test_400_csrf_page_is_chinese(app, client):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        resp = client.post("/login", data={"login": "x", "password": "y"})
        assert resp.status_code == 400 and "页面已过期" in resp.get_data(as_text=True)
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_chinese_by_default_and_english_switch(app, client):
    def get_login() -> str:
        with app.app_context():  # a request of its own, as in production (the locale is cached per context)
            return client.get("/login").get_data(as_text=True)

    page = get_login()
    assert "用户名或手机号" in page and 'lang="zh-CN"' in page
    client.post("/lang/en", data={"next": "/login"})
    page = get_login()
    assert "Username or mobile number" in page and 'lang="en"' in page
    client.post("/lang/zh_CN", data={"next": "/login"})
    assert "用户名或手机号" in get_login()


def test_assets_are_local(client):
    page = client.get("/login").get_data(as_text=True)
    assert "cdn" not in page.lower() and "https://" not in page
    with client.get("/static/vendor/bootstrap/bootstrap.min.css") as resp:
        assert resp.status_code == 200


def test_production_cookies_are_secure():
    assert ProductionConfig.SESSION_COOKIE_SECURE and ProductionConfig.REMEMBER_COOKIE_SECURE
    assert ProductionConfig.SESSION_COOKIE_HTTPONLY and ProductionConfig.SESSION_COOKIE_SAMESITE == "Lax"


def test_demo_command_loads_once(app, db):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    assert "officer" in first.output and "Demo2026!" in first.output
    second = runner.invoke(args=["demo"])
    assert "已存在" in second.output
    from grants.core.audit import verify_chain

    assert verify_chain()[0]


def test_favicon_ico_is_served(client):
    resp = client.get("/favicon.ico")
    assert resp.status_code == 200 and resp.mimetype == "image/vnd.microsoft.icon"
    assert resp.data[:4] == b"\x00\x00\x01\x00"  # an ICO header, not the SVG
    resp.close()


def test_each_role_sees_distinct_navigation_icons(app, db):
    from grants.accounts.models import Role
    from grants.main.navigation import nav_items
    from tests import factories

    users = [factories.user_with_role(str(r)) for r in Role]
    users.append(factories.user(roles=(Role.OFFICER, Role.AUDITOR, Role.FINANCE, Role.EXPERT)))
    with app.test_request_context():
        for user in users:
            icons = [i.icon for i in nav_items(user)]
            assert len(icons) == len(set(icons)), (sorted(user.role_names), icons)
