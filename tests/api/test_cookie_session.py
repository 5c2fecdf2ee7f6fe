"""A browser that is logged in to the pages and also hits the API: the API refuses the cookie and the
pages keep the log-in."""


def test_api_call_leaves_the_page_session_alone(client, login_as, db):
    login_as("admin")
    assert client.get("/account/tokens").status_code == 200
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/account/tokens").status_code == 200
