"""What validation made of an award, kept in the record cache beside the file's values, so a
warm build does not check 100,000 unchanged awards again (the checks — texts and URLs
searched for personal data, Markdown limits — cost more than reading the records).

An award's own checks depend on its file and on two things beyond it: the site's languages
and the addresses the privacy checks look for (every learner's, the issuers' published ones).
Those make the *context*; a kept result is used only in the same context, for the same file
stamp, by the same code (the record cache is emptied when the code changes) on the same
Python (its URL parsing has changed between releases). The checks across records
(references, duplicate ids, status indices, revocations) run every time.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from generator.load import RawRecord
from generator.personal import Contacts
from generator.record_cache import RecordCache, decode, encode

# Kinds whose checks depend only on their file and the context (and which are many).
KEPT_KINDS = frozenset({"award"})


def context_digest(languages: tuple[str, ...], contacts: Contacts, root: Path) -> str:
    """The context of the kept results: complete once every learner and issuer was read
    (they come before the awards)."""
    return hashlib.sha256(json.dumps(
        [sys.version, list(languages), str(root), sorted(contacts.learner_emails),
         sorted(contacts.public_emails), sorted(contacts.public_phones)],
        ensure_ascii=False).encode("utf-8", "surrogatepass")).hexdigest()


def kept_values(record: RawRecord, context: str) -> dict[str, Any] | None:
    """The cleaned values kept for this record's file in this context, or None."""
    if record.cached is None:
        return None
    try:
        found, kind, values = decode(record.cached[1])
    except (ValueError, TypeError, KeyError):
        return None  # damaged: checked again, and kept anew
    if found != context or kind != record.kind or not isinstance(values, dict):
        return None
    return values


def keep_values(memory: RecordCache | None, record: RawRecord, context: str,
                values: dict[str, Any]) -> None:
    """Keep the cleaned values of a record that passed its own checks."""
    if memory is None or record.stamp is None or record.kind not in KEPT_KINDS:
        return
    try:
        text = encode([context, record.kind, values])
    except TypeError:
        return  # a value the cache cannot carry: checked each time
    memory.put_cleaned(record.path, record.stamp, text)
