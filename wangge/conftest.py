"""Shared fixtures: the demo world built through actions, with its personas, and a real
Chromium for the browser tests (`new_page`), which fails a test whose pages fetch anything
from outside the test server and keeps screenshots in test-artifacts/."""

import os
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.utils import translation

from wangge.world import World, build_world


@pytest.fixture(autouse=True)
def _default_language_afterwards():
    """LocaleMiddleware leaves the last request's language active in the thread; a test that
    asked for English must not leave the next one speaking it."""
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Cached values (throttle counts, big-screen data) do not leak from one test to the next."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _forget_what_processes_remember():
    """A rolled-back test sends no signal: categories and tokens it made must not outlive it."""
    yield
    from wangge.accounts.auth import forget_tokens
    from wangge.cases.queries import forget_categories

    forget_categories()
    forget_tokens()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Build the world once per test database; each test rolls back to it."""
    with django_db_blocker.unblock():
        build_world()


@pytest.fixture
def world_after_flush(django_db_blocker):
    """A transactional test empties every table when it ends; put the shared world back for the
    tests after it (request it before `transactional_db`, so it is torn down after the flush)."""
    yield
    with django_db_blocker.unblock():
        build_world()


@pytest.fixture
def world(db) -> World:
    from wangge.grids.locate import invalidate

    invalidate()
    return build_world()


@pytest.fixture
def report(world):
    """Report a case as a resident through the web form, located in grid A1 unless told."""
    from wangge.cases.actions import report_case
    from wangge.cases.models import Channel
    from wangge.world import centre_of

    def _report(title="小区路灯不亮", *, cell=None, category=None, channel=Channel.WEB, **kw):
        lon, lat = centre_of(cell or world.grid_a1)
        kw.setdefault("lon", lon)
        kw.setdefault("lat", lat)
        case, _ = report_case(
            channel=channel,
            title=title,
            actor=None,
            category=world.category(category) if category else None,
            **kw,
        )
        return case

    return _report


# --- browser tests ------------------------------------------------------------------------------

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="session")
def chromium():
    # Playwright's sync API keeps an event loop in this thread; the tests' ORM calls are still
    # plain synchronous code.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def watch_outside(context, server: str) -> list[str]:
    """Record every URL the context's pages request from anywhere but `server` (host:port)."""
    outside: list[str] = []

    def watch(req):
        url = urlparse(req.url)
        if url.scheme in ("http", "https", "ws", "wss") and url.netloc != server:
            outside.append(req.url)

    context.on("request", watch)
    return outside


@pytest.fixture
def new_page(chromium, live_server):
    """`new_page(locale="zh-CN", **context_options)` opens a page in a fresh browser context
    (its own cookies and storage). Every request any page makes is checked: one that leaves the
    test server fails the test (government intranets have no internet)."""
    contexts, outside = [], []
    server = urlparse(live_server.url).netloc

    def _new_page(locale: str = "zh-CN", **options):
        context = chromium.new_context(locale=locale, base_url=live_server.url, **options)
        outside.append(watch_outside(context, server))
        contexts.append(context)
        return context.new_page()

    yield _new_page
    for context in contexts:
        context.close()
    leaked = [url for urls in outside for url in urls]
    assert not leaked, f"pages fetched URLs outside the server: {leaked}"


@pytest.fixture
def shot(request):
    """`shot(page, "step")` saves test-artifacts/<test>/<n>-step.png."""
    folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", request.node.name)
    count = [0]

    def _shot(page, step: str):
        folder.mkdir(parents=True, exist_ok=True)
        count[0] += 1
        page.screenshot(path=str(folder / f"{count[0]:02d}-{step}.png"), full_page=True)

    return _shot
