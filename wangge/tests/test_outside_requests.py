"""The browser tests' guard against pages that reach outside the server really catches them."""

import pytest

from wangge.conftest import watch_outside

pytestmark = pytest.mark.browser


def test_a_page_that_loads_an_outside_image_is_caught(chromium, live_server):
    context = chromium.new_context(base_url=live_server.url)
    try:
        outside = watch_outside(context, live_server.url.split("//", 1)[1])
        page = context.new_page()
        page.goto("/login/")
        with page.expect_request("http://cdn.example.invalid/font.woff2"):
            page.evaluate(
                "() => { const i = new Image(); i.src = 'http://cdn.example.invalid/font.woff2';"
                " document.body.append(i); }"
            )
        assert outside == ["http://cdn.example.invalid/font.woff2"]
    finally:
        context.close()
