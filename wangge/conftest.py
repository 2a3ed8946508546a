"""Shared fixtures: the demo world built through actions, with its personas."""

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
