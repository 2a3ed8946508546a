"""A live-refreshing part of a page whose session has ended sends the whole page to the login,
and back to the page afterwards, instead of showing the login form inside a table."""

from django.test import Client


def test_an_expired_session_on_a_refresh_sends_the_whole_page_to_the_login(world):
    r = Client().get(
        "/queue/table/?state=new",
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://testserver/queue/?state=new",
    )
    assert (r.status_code, r["HX-Redirect"]) == (200, "/login/?next=%2Fqueue%2F%3Fstate%3Dnew")


def test_an_ordinary_request_still_gets_an_ordinary_redirect(world):
    r = Client().get("/queue/")
    assert (r.status_code, r["Location"]) == (302, "/login/?next=/queue/")
