"""Settings for the test suite: production settings plus a fast password hasher."""

from wangge.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
# Most tests read the dispatch in the intake's answer; the worker path has its own tests.
WANGGE_INTAKE_ROUTING = "inline"
# Each test process its own cache (cleared before every test by conftest).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
