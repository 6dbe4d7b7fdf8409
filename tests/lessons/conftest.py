from __future__ import annotations

import pytest
from django.core.management import call_command


@pytest.fixture
def library(db):
    """The real template library, loaded as `make run` loads it."""
    call_command("loadtemplates", verbosity=0)
