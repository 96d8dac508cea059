"""Multibase base58btc and Ed25519 Multikey encoding (W3C Controlled Identifiers 1.0).

Only the encodings Rugzak publishes or reads are here: base58btc (`z` prefix) for Data
Integrity `proofValue`s and Ed25519 `publicKeyMultibase` values. This is an encoding, not a
cryptographic primitive, so it is written out rather than pulled in as a dependency.
"""

from __future__ import annotations

# Digest C.7.2 step 8: "Bitcoin alphabet
# 123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz".
BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BASE58_INDEX = {char: value for value, char in enumerate(BASE58_ALPHABET)}

# Multibase: "z" marks base58btc.
MULTIBASE_BASE58BTC = "z"

# Digest C.7.4: "publicKeyMultibase for Ed25519 = "z" + base58btc( 0xED 0x01 || 32-byte raw
# public key ) -> always starts with z6Mk."
ED25519_PUB_MULTICODEC = b"\xed\x01"
# Digest C.7.4: "(Secret key multibase: prefix 0x80 0x26 -> z3u2...; never publish.)"
ED25519_PRIV_MULTICODEC = b"\x80\x26"


def base58btc_encode(data: bytes) -> str:
    """Encode bytes as base58btc (leading zero bytes become leading '1's)."""
    zeros = len(data) - len(data.lstrip(b"\x00"))
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, remainder = divmod(number, 58)
        digits.append(BASE58_ALPHABET[remainder])
    return "1" * zeros + "".join(reversed(digits))


def base58btc_decode(text: str) -> bytes:
    """Decode base58btc text; raises ValueError on a character outside the alphabet."""
    number = 0
    for char in text:
        try:
            number = number * 58 + _BASE58_INDEX[char]
        except KeyError:
            raise ValueError(f"{char!r} is not a base58btc character") from None
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\x00" * zeros + body


def multibase_encode(data: bytes) -> str:
    """`z` + base58btc(data): the multibase form of `proofValue` and Multikey values."""
    return MULTIBASE_BASE58BTC + base58btc_encode(data)


def multibase_decode(text: str) -> bytes:
    """Decode a `z`-prefixed multibase string; raises ValueError for any other base."""
    if not isinstance(text, str) or not text.startswith(MULTIBASE_BASE58BTC):
        raise ValueError("multibase value must be a string starting with 'z' (base58btc)")
    return base58btc_decode(text[1:])


def ed25519_multikey(raw_public_key: bytes) -> str:
    """The `publicKeyMultibase` (`z6Mk...`) of a 32-byte raw Ed25519 public key."""
    if len(raw_public_key) != 32:
        raise ValueError("an Ed25519 public key has 32 bytes")
    return multibase_encode(ED25519_PUB_MULTICODEC + raw_public_key)


def ed25519_raw_from_multikey(multikey: str) -> bytes:
    """The 32 raw public key bytes of a `z6Mk...` Multikey.

    Digest C.7.4: "Implementations MUST reject unknown prefixes." — so anything but the
    Ed25519 public key multicodec (or a wrong length) raises ValueError.
    """
    data = multibase_decode(multikey)
    if not data.startswith(ED25519_PUB_MULTICODEC) or len(data) != 34:
        raise ValueError(f"{multikey[:12]}... is not an Ed25519 public Multikey (z6Mk...)")
    return data[2:]
