"""Shared pytest setup: the ``--update-goldens`` option and paths to test data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "golden"
CORPUS = ROOT / "tests" / "corpus"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        help="Rewrite golden/*/*.out.* from the current output (delete it where the input is unchanged).",
    )


@pytest.fixture(autouse=True, scope="session")
def _context_cache_of_the_tests(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The tests keep k8sfix's context cache in a directory of their own, not the user's."""
    os.environ["K8SFIX_CACHE_DIR"] = str(tmp_path_factory.mktemp("k8sfix-cache"))


@pytest.fixture
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens"))
