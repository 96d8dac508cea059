"""Set translations in a catalog: tools/set_translation.py LANG MSGID=MSGSTR [MSGID=MSGSTR ...]

For plural messages give the singular msgid and the forms separated by ' || '.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

LOCALE = Path(__file__).resolve().parent.parent / "generator" / "locale"


def main(language: str, pairs: list[str]) -> int:
    path = LOCALE / language / "LC_MESSAGES" / "messages.po"
    catalog = read_po(io.BytesIO(path.read_bytes()), locale=language)
    created, revised = catalog.creation_date, catalog.revision_date
    for pair in pairs:
        msgid, _, msgstr = pair.partition("=")
        for message in catalog:
            singular = message.id[0] if isinstance(message.id, tuple) else message.id
            if singular == msgid:
                message.string = tuple(msgstr.split(" || ")) if isinstance(
                    message.id, tuple) else msgstr
                break
        else:
            print(f"unknown msgid: {msgid!r}", file=sys.stderr)
            return 1
    catalog.creation_date, catalog.revision_date = created, revised
    buffer = io.BytesIO()
    write_po(buffer, catalog, no_location=True, sort_output=True, width=100)
    path.write_bytes(buffer.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
