"""Revocation status: the status-index ledger and the Bitstring Status List.

Each award gets an index into the site's status list once, chosen at random (the spec advises
random assignment, for privacy), recorded in `content/status.yaml` — in Git, so the index
survives rebuilds, clones and deleted neighbours, and is never handed out again.

Bitstring Status List v1.0 (digest §C.5b): `encodedList` = "u" + base64url-no-padding(GZIP(
bitstring)); at least 131,072 bits; "index 0 is the left-most (most significant) bit of the
first byte"; bit 1 = revoked.
"""

from __future__ import annotations

import base64
import gzip
import os
import secrets
import tempfile
from pathlib import Path
from typing import Iterable

import yaml

from generator.schema import STATUS_LIST_BITS

STATUS_FILE = "status.yaml"
_HEADER = ("# yaml-language-server: $schema=../generator/schemas/status.schema.json\n"
           "# Status list indices (W3C Bitstring Status List), one per award, allocated by\n"
           "# `rugzak status allocate`. Never edit, reuse or remove a line: an index belongs to\n"
           "# its award for good, even after the award is deleted.\n")


def read_indices(path: Path) -> dict[str, int]:
    """The ledger as a dict (empty when the file does not exist yet)."""
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text("utf-8")) or {}
    indices = data.get("indices") or {} if isinstance(data, dict) else {}
    for key in indices:
        if not isinstance(key, str):  # `0123:` is read as 83, `yes:` as true
            raise ValueError(f"the award id written as {key!r} is read as "
                             f"{type(key).__name__}, not text: put it in quotes")
    return {k: int(v) for k, v in indices.items()}


def allocate(existing: dict[str, int], award_ids: Iterable[str],
             choose: "callable[[int], int]" = secrets.randbelow) -> dict[str, int]:
    """Add a fresh random index for every award that has none; existing ones are kept."""
    result = dict(existing)
    taken = set(existing.values())
    for award_id in sorted(set(award_ids) - set(existing)):
        if len(taken) >= STATUS_LIST_BITS:
            raise ValueError(f"the status list is full ({STATUS_LIST_BITS:,} indices)")
        index = choose(STATUS_LIST_BITS)
        while index in taken:
            index = choose(STATUS_LIST_BITS)
        taken.add(index)
        result[award_id] = index
    return result


def write_indices(path: Path, indices: dict[str, int]) -> None:
    """Write the ledger atomically, sorted by award id (stable Git diffs)."""
    body = "indices:\n" + "".join(f"  {_key(award_id)}: {index}\n"
                                  for award_id, index in sorted(indices.items()))
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".status-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(_HEADER + body)
        os.replace(temp, path)
    except BaseException:
        os.unlink(temp)
        raise


_STRING_TAG = "tag:yaml.org,2002:str"


def _key(award_id: str) -> str:
    """An award id as a YAML key: quoted when YAML would read it as something else than text
    (valid ids such as `yes`, `null`, `on`, `0123`, `1e5` are booleans, null and numbers)."""
    if yaml.resolver.Resolver().resolve(yaml.ScalarNode, award_id, (True, False)) \
            == _STRING_TAG:
        return award_id
    return f'"{award_id}"'


def encode_bitstring(set_bits: Iterable[int], size: int = STATUS_LIST_BITS) -> str:
    """`encodedList` of a list with the given bits set (deterministic gzip: mtime 0)."""
    bits = bytearray(size // 8)
    for index in set_bits:
        if not 0 <= index < size:
            raise ValueError(f"status index {index} is outside the list of {size} bits")
        bits[index // 8] |= 0x80 >> (index % 8)
    compressed = gzip.compress(bytes(bits), compresslevel=9, mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode("ascii")


def decode_bitstring(encoded: str) -> bytes:
    """The raw bitstring of an `encodedList`."""
    if not encoded.startswith("u"):
        raise ValueError("encodedList must be base64url multibase (start with 'u')")
    data = base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4))
    return gzip.decompress(data)


def bit_is_set(bits: bytes, index: int) -> bool:
    """Whether status `index` is set (left-most bit first)."""
    return bool(bits[index // 8] & (0x80 >> (index % 8)))
