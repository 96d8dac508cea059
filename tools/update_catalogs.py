"""Extract UI strings and merge them into every catalog, keeping translations and headers.

Usage: .venv/bin/python tools/update_catalogs.py [--check]
Writes the updated `.po` files (with --check: writes nothing, exits 1 if any would change) and
lists strings that still need a translation (exit 1 when there are any, English excepted: its
msgids are the English text).
"""

from __future__ import annotations

import io
import subprocess
import sys
import tempfile
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "generator" / "locale"


def _template():
    with tempfile.TemporaryDirectory() as folder:
        pot = Path(folder) / "messages.pot"
        subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F",
                        str(ROOT / "babel.cfg"), "--no-location", "-o", str(pot), str(ROOT)],
                       check=True, capture_output=True, cwd=ROOT)
        with pot.open("rb") as handle:
            return read_po(handle)


def main(check: bool) -> int:
    template = _template()
    problems = 0
    for po_path in sorted(LOCALE.glob("*/LC_MESSAGES/messages.po")):
        language = po_path.parts[-3]
        original = po_path.read_bytes()
        catalog = read_po(io.BytesIO(original), locale=language)
        created, revised = catalog.creation_date, catalog.revision_date
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        catalog.fuzzy = False
        catalog.project, catalog.version = "rugzak", ""
        # Fixed dates: the file only changes when its strings change.
        catalog.creation_date, catalog.revision_date = created, revised
        buffer = io.BytesIO()
        write_po(buffer, catalog, no_location=True, sort_output=True, width=100)
        if buffer.getvalue() != original:
            problems += 1
            print(f"{po_path.relative_to(ROOT)}: out of date"
                  + (" (run tools/update_catalogs.py)" if check else " (updated)"))
            if not check:
                po_path.write_bytes(buffer.getvalue())
        for message in catalog:
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if message.id and language != "en" and not all(strings):
                problems += 1
                print(f"{po_path.relative_to(ROOT)}: untranslated: {message.id!r}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main("--check" in sys.argv[1:]))
