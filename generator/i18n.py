"""User-facing strings: gettext catalogs (one `.po` per language, in Git), dates per locale.

The `.po` files are compiled in memory at build time with Babel, so no compiled `.mo` file has
to be kept in step in Git. A language without a catalog falls back to the English msgids.
"""

from __future__ import annotations

import io
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).parent / "locale"


@lru_cache(maxsize=None)
def translations(language: str) -> NullTranslations:
    """Compiled translations for `language` (English msgids when there is no catalog)."""
    po_path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if not po_path.is_file():
        return NullTranslations()
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def has_locale(language: str) -> bool:
    """Whether Babel knows how to format dates for this language code."""
    try:
        Locale.parse(language)
    except (UnknownLocaleError, ValueError):
        return False
    return True


def format_day(moment: datetime, language: str) -> str:
    """A date as people write it in `language`: '3 maart 2025' / 'March 3, 2025'."""
    return format_date(moment.date(), format="long", locale=language)
