"""UI catalogs: complete, and used when rendering."""

import subprocess
import sys
from datetime import datetime, timezone

from conftest import ROOT
from generator.i18n import format_day, translations


def test_catalogs_are_current_and_dutch_is_complete() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "update_catalogs.py"),
                             "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dutch_strings_and_dates() -> None:
    assert translations("nl").gettext("Valid badge") == "Geldige badge"
    assert translations("en").gettext("Valid badge") == "Valid badge"
    moment = datetime(2025, 3, 3, tzinfo=timezone.utc)
    assert format_day(moment, "nl") == "3 maart 2025"
    assert format_day(moment, "en") == "March 3, 2025"
