"""Recipient identities: salted hashes, never plain identifiers.

OB 2.0 §A.7 / OB 3.0 §C.3: IdentityHash = "sha256$" + hex(SHA-256(UTF-8(identifier) ||
UTF-8(salt))) — identifier first, salt appended, no separator. We normalise e-mail addresses
(trim + lowercase) before hashing, as the digest recommends, so verifiers can reproduce it.

Salts are per award, reproducible (so rebuilds are byte-identical) and not guessable from public
data: HMAC-SHA256 of the award id under the site secret, which lives with the keys, never in Git.
"""

from __future__ import annotations

import hashlib
import hmac


def normalise_email(address: str) -> str:
    """The form of an e-mail address that is hashed: trimmed and lowercased."""
    return address.strip().lower()


def award_salt(site_secret: bytes, award_id: str) -> str:
    """A per-award salt: 32 hex characters derived from the site secret."""
    return hmac.new(site_secret, b"rugzak-salt:" + award_id.encode(), hashlib.sha256
                    ).hexdigest()[:32]


def identity_hash(identifier: str, salt: str) -> str:
    """`sha256$<hex>` of identifier followed by salt (OB 2.0 IdentityHash)."""
    digest = hashlib.sha256(identifier.encode("utf-8") + salt.encode("utf-8")).hexdigest()
    return f"sha256${digest}"
