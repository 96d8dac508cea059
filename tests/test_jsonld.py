"""Offline JSON-LD loading and strict RDFC-1.0 canonicalization (generator/jsonld.py)."""

from __future__ import annotations

import copy
import hashlib
import json
import re
import socket
from pathlib import Path

import pytest
from pyld.jsonld import JsonLdError

from generator import jsonld
from generator.jsonld import UndefinedTermError, canonicalize, check_terms, document_loader

VECTORS = Path(__file__).parent / "fixtures" / "vectors"
W3C = VECTORS / "w3c-vc-di-eddsa"
KIT = VECTORS / "generated-by-kit"
OB_LDP = VECTORS / "ob_v3p0-ldp-test-vector"


def read_json(path: Path) -> dict:
    return json.loads(path.read_text("utf-8"))


def html_example(title: str) -> dict:
    """A JSON example block of the 1EdTech Implementation Guide chapter, by its title."""
    html = (OB_LDP / "linked-data-proof-ob.html").read_text("utf-8")
    block = re.search(rf'title="{re.escape(title)}">(.*?)</pre', html, re.S)
    assert block, title
    return json.loads(block.group(1))


@pytest.fixture
def credential() -> dict:
    """A complete, valid OB 3.0 credential (VC 2.0, OB 3.0.3 + extensions contexts)."""
    return read_json(KIT / "ob3-credential-unsigned.json")


# --- the document loader ------------------------------------------------------------------

def test_loader_serves_bundled_contexts_by_url_and_alias():
    v2 = document_loader("https://w3id.org/openbadges/v2")
    alias = document_loader("https://openbadgespec.org/v2/context.json")
    assert v2["document"] == alias["document"]
    assert v2["documentUrl"] == "https://w3id.org/openbadges/v2"
    assert v2["contextUrl"] is None
    assert v2["tag"] == "static"  # lets pyld keep the processed context across calls
    ob3 = document_loader("https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json")
    assert "@context" in ob3["document"]


def test_loader_returns_independent_copies():
    first = document_loader("https://www.w3.org/ns/credentials/v2")
    first["document"]["@context"]["injected"] = "x"
    assert "injected" not in document_loader("https://www.w3.org/ns/credentials/v2")[
        "document"]["@context"]


def test_loader_refuses_unknown_url():
    with pytest.raises(JsonLdError) as caught:
        document_loader("https://example.org/unknown-context.jsonld")
    assert "not bundled" in caught.value.args[0]


def test_unknown_context_in_document_names_the_url():
    doc = {"@context": "https://example.org/unknown-context.jsonld", "name": "x"}
    with pytest.raises(JsonLdError) as caught:
        canonicalize(doc)
    message = jsonld.jsonld_error_message(caught.value)
    assert "https://example.org/unknown-context.jsonld is not bundled" in message


def test_bundled_contexts_are_byte_exact_copies():
    index = read_json(jsonld.CONTEXTS_DIR / "index.json")["contexts"]
    for url, entry in index.items():
        data = (jsonld.CONTEXTS_DIR / entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], url
    assert "https://openbadgespec.org/v2/context.json" in jsonld.bundled_context_urls()


def test_canonicalize_never_uses_the_network(monkeypatch, credential):
    def no_network(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    assert canonicalize(credential).startswith("<")


# --- canonical N-Quads reproduce published vectors ----------------------------------------

def test_w3c_eddsa_rdfc_2022_canonical_forms():
    unsigned = read_json(W3C / "unsigned.json")
    proof_config = read_json(W3C / "eddsa-rdfc-2022" / "proofConfigDataInt.json")
    assert canonicalize(unsigned) == (W3C / "eddsa-rdfc-2022" / "canonDocDataInt.txt"
                                      ).read_text("utf-8")
    assert canonicalize(proof_config) == (W3C / "eddsa-rdfc-2022" / "proofCanonDataInt.txt"
                                          ).read_text("utf-8")


def test_1edtech_ob3_vector_canonical_forms():
    credential = html_example("Credential")
    proof = html_example("Proof")
    proof_config = {k: v for k, v in proof.items() if k != "proofValue"}
    proof_config["@context"] = credential["@context"]
    assert canonicalize(credential) == (OB_LDP / "document-canon.txt").read_text("utf-8")
    assert canonicalize(proof_config) == (OB_LDP / "proof-canon.txt").read_text("utf-8")


def test_kit_ob3_credential_canonical_form(credential):
    expected = (KIT / "ob3-credential-eddsa-rdfc-2022.canonical-document.nq").read_text("utf-8")
    assert canonicalize(credential) == expected


# --- strictness: nothing may be dropped silently ------------------------------------------

def test_valid_ob3_credential_passes(credential):
    check_terms(credential)
    assert "Veilig werken op hoogte" in canonicalize(credential)


def test_undefined_top_level_property(credential):
    credential["favouriteColour"] = "green"
    with pytest.raises(UndefinedTermError) as caught:
        canonicalize(credential)
    assert (caught.value.path, caught.value.term) == ("favouriteColour", "favouriteColour")
    assert isinstance(caught.value, ValueError)
    assert "favouriteColour: property 'favouriteColour' is not defined by any @context" in str(
        caught.value)


def test_undefined_nested_property(credential):
    credential["credentialSubject"]["achievement"]["foo"] = {"bar": 1}
    with pytest.raises(UndefinedTermError) as caught:
        check_terms(credential)
    assert caught.value.path == "credentialSubject.achievement.foo"
    assert caught.value.term == "foo"


def test_undefined_property_inside_an_array_item(credential):
    credential["credentialSubject"]["identifier"][0]["note"] = "x"
    with pytest.raises(UndefinedTermError) as caught:
        check_terms(credential)
    assert caught.value.path == "credentialSubject.identifier[0].note"


def test_undefined_type_value(credential):
    credential["credentialSubject"]["achievement"]["type"].append("MyType")
    with pytest.raises(UndefinedTermError) as caught:
        canonicalize(credential)
    assert (caught.value.path, caught.value.term) == (
        "credentialSubject.achievement.type", "MyType")
    assert "not an absolute IRI" in str(caught.value)


def test_relative_iri_values(credential):
    credential["issuer"] = "issuers/acme"  # issuer is @id-typed in the VC 2.0 context
    credential["credentialSubject"]["achievement"]["id"] = "achievements/x"
    with pytest.raises(UndefinedTermError) as caught:
        check_terms(credential)
    assert set(caught.value.problems) == {("issuer", "issuers/acme"),
                                          ("credentialSubject.achievement.id",
                                           "achievements/x")}


def test_all_problems_are_reported_together(credential):
    credential["a"] = 1
    credential["credentialSubject"]["b"] = 2
    credential["type"].append("C")
    with pytest.raises(UndefinedTermError) as caught:
        check_terms(credential)
    assert set(caught.value.problems) == {("a", "a"), ("credentialSubject.b", "b"),
                                          ("type", "C")}


def test_missing_extensions_context_is_caught(credential):
    # Digest caveat: without extensions.json "1EdTechJsonSchemaValidator2019" is undefined.
    credential["@context"] = credential["@context"][:2]
    with pytest.raises(UndefinedTermError) as caught:
        check_terms(credential)
    assert caught.value.path == "credentialSchema[0].type"
    assert caught.value.term == "1EdTechJsonSchemaValidator2019"


def test_absolute_iris_for_unknown_terms_are_fine(credential):
    original = copy.deepcopy(credential)
    credential["https://example.org/vocab#note"] = "kept, because it is a full IRI"
    credential["type"].append("https://example.org/vocab#Extra")
    check_terms(credential)
    assert canonicalize(credential) != canonicalize(original)


def test_context_files_are_parsed_once():
    document_loader("https://w3id.org/security/multikey/v1")
    misses = jsonld._parsed_context.cache_info().misses
    for _ in range(3):
        document_loader("https://w3id.org/security/multikey/v1")
    assert jsonld._parsed_context.cache_info().misses == misses


def test_did_document_canonicalizes():
    did_document = read_json(KIT / "did-web-issuer.did.json")
    assert "did:web:badges.example.org:issuers:acme" in canonicalize(did_document)


# --- shapes: expansion once per shape, values substituted -----------------------------------

HOSTILE = ['Zeynep "Zey" Çelik', "regel een\nregel twee\r\tdrie", "back\\slash \\t \\\"",
           "emoji 🎓👩🏽‍🔧 and RTL مرحبا", "", " leading and trailing ", "<b>not html</b>",
           "_:b0", "urn:x-rugzak-slot:0", "\u2028line separator\u0000nul"]


def _variants(credential: dict) -> list[dict]:
    """The kit credential with hostile text in every kind of string value."""
    out = []
    for i, text in enumerate(HOSTILE):
        doc = copy.deepcopy(credential)
        doc["name"] = text
        doc["credentialSubject"]["achievement"]["description"] = text + str(i)
        doc["credentialSubject"]["achievement"]["criteria"]["narrative"] = text * 2
        doc["validFrom"] = f"2026-0{1 + i % 9}-1{i}T00:00:00Z"
        doc["id"] = f"https://badges.example.org/a/{i}/credential.json?x=\u00e9"
        out.append(doc)
    return out


def test_shape_path_equals_full_processing_on_hostile_values(credential):
    jsonld._SHAPES.clear()
    for doc in _variants(credential):
        assert jsonld.canonicalize(doc) == jsonld.canonicalize_full(doc)
    assert [s for s in jsonld._SHAPES.values() if s is not None]  # the fast path was taken


def test_shape_path_falls_back_for_values_whose_role_depends_on_them(credential):
    jsonld._SHAPES.clear()
    canonicalize(credential)  # the shape is now known
    relative = copy.deepcopy(credential)
    relative["id"] = "credential.json"  # relative IRI: an error, never a silent slot fill
    with pytest.raises(UndefinedTermError):
        canonicalize(relative)
    blank = copy.deepcopy(credential)
    blank["credentialSubject"]["id"] = "_:subject"  # a blank node, not an IRI
    assert canonicalize(blank) == jsonld.canonicalize_full(blank)
    spaced = copy.deepcopy(credential)
    spaced["id"] = "https://example.org/a b"
    with pytest.raises(UndefinedTermError):
        jsonld.canonicalize_full(spaced)
    with pytest.raises(UndefinedTermError):
        canonicalize(spaced)


def test_inline_contexts_take_the_full_path(credential):
    doc = copy.deepcopy(credential)
    doc["@context"] = doc["@context"] + [{"nickname": "https://example.org/nickname"}]
    doc["nickname"] = "Zey"
    assert jsonld._slotted(doc) is None
    assert "https://example.org/nickname" in canonicalize(doc)


def test_terms_in_iri_positions_become_part_of_the_shape(monkeypatch):
    """proofPurpose "assertionMethod" is a term that @vocab makes an IRI: it is kept in the
    shape instead of sending every proof configuration down the full path."""
    jsonld._SHAPES.clear()
    config = {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": "DataIntegrityProof",
              "cryptosuite": "eddsa-rdfc-2022", "proofPurpose": "assertionMethod",
              "verificationMethod": "did:web:badges.example.org#key-1",
              "created": "2026-01-01T00:00:00Z"}
    expected = {day: jsonld.canonicalize_full({**config, "created": f"2026-01-{day}T00:00:00Z"})
                for day in ("02", "03")}
    monkeypatch.setattr(jsonld, "canonicalize_full", lambda doc: pytest.fail("full path"))
    canonicalize(config)
    for day, text in expected.items():
        assert canonicalize({**config, "created": f"2026-01-{day}T00:00:00Z"}) == text
    assert "security#assertionMethod" in text


def test_one_node_written_in_two_places_gives_each_triple_once(credential):
    jsonld._SHAPES.clear()
    doc = copy.deepcopy(credential)
    issuer = doc["issuer"] if isinstance(doc["issuer"], dict) else {"id": doc["issuer"]}
    doc["issuer"] = {**issuer, "type": ["Profile"], "name": "Twice"}
    doc["credentialSubject"]["achievement"]["creator"] = copy.deepcopy(doc["issuer"])
    canonicalize(credential)
    text = canonicalize(doc)
    assert text == jsonld.canonicalize_full(doc)
    assert len(text.splitlines()) == len(set(text.splitlines()))


def test_a_document_that_writes_a_slot_iri_itself_takes_the_full_path(credential):
    jsonld._SHAPES.clear()
    doc = copy.deepcopy(credential)
    doc["type"] = list(doc["type"]) + ["urn:x-rugzak-slot:0"]  # an absolute IRI as a type
    assert jsonld._slotted(doc) is None
    assert canonicalize(doc) == jsonld.canonicalize_full(doc)
    assert "<urn:x-rugzak-slot:0>" in canonicalize(doc)
