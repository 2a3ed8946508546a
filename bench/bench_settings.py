"""Settings of the intake bench's server: production settings plus a bare ninja endpoint."""

from wangge.settings import *  # noqa: F403

ROOT_URLCONF = "bench.bare_urls"
