import pytest

from tests.output.chromium import Chromium, find_chromium


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per test module (skips, or fails under CI, without chromium)."""
    chromium = Chromium(find_chromium())
    yield chromium
    chromium.close()
