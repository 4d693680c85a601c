from tests.output.conftest import browser as browser  # one headless Chromium per module, as for report.html
