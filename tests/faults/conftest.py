from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.faults.harness import Fleet


@pytest.fixture
async def fleet(tmp_path: Path) -> AsyncIterator[Fleet]:
    """feedsvc processes on `tmp_path/config.toml` (the test writes it); killed at the end."""
    fleet = Fleet(tmp_path / "config.toml")
    yield fleet
    await fleet.close()
