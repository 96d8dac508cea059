"""Offline JSON-LD: a document loader for the bundled contexts and strict RDFC-1.0.

Data Integrity signs the RDF that JSON-LD processing produces, not the JSON text. Two things
make that dangerous with pyld (digest "Offline JSON-LD loading", caveats; pitfall G.3):

* a property no `@context` defines is dropped silently, so it is published but not signed;
* an undefined `type` value becomes a relative IRI, which canonicalization drops as well
  (or, without `base: None`, resolves against pyld's made-up base `http://example.org/base/`).

VC Data Integrity requires base null and an error instead of such a loss, so `canonicalize`
runs pyld with a processor subclass that records every dropped key and every relative
type/id IRI, with the JSON path where it occurred, and raises `UndefinedTermError`.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyld import jsonld
from pyld.canon import URDNA2015

CONTEXTS_DIR = Path(__file__).parent / "contexts"

# RDFC-1.0 is the W3C name of URDNA2015; pyld knows it by the old name.
_NORMALIZE_OPTIONS = {"algorithm": "URDNA2015", "format": "application/n-quads"}


class UndefinedTermError(ValueError):
    """A key or type/id value that no `@context` defines (it would be silently unsigned).

    `path` is the JSON path in the input (`credentialSubject.achievement.foo`), `term` the
    offending key or value; `problems` lists every (path, term) found, the first one first.
    """

    def __init__(self, path: str, term: str,
                 problems: tuple[tuple[str, str], ...] = ()) -> None:
        self.path = path
        self.term = term
        self.problems = problems or ((path, term),)
        super().__init__("; ".join(_describe(p, t) for p, t in self.problems)
                         + " — JSON-LD would silently leave it out of the signed data; use a"
                         " term your @context defines, an absolute IRI, or add a context")


def _describe(path: str, term: str) -> str:
    if path == term or path.endswith("." + term):
        return f"{path}: property {term!r} is not defined by any @context"
    return f"{path}: {term!r} is not an absolute IRI (undefined type name or relative link)"


@functools.cache
def _context_files() -> dict[str, str]:
    """URL (and every alias) -> file name, from contexts/index.json."""
    index = json.loads((CONTEXTS_DIR / "index.json").read_text("utf-8"))["contexts"]
    files = {url: entry["file"] for url, entry in index.items()}
    files.update({alias: entry["file"]
                  for entry in index.values() for alias in entry.get("aliases", [])})
    return files


@functools.cache
def _parsed_context(file_name: str) -> dict[str, Any]:
    """Parse one bundled context file, once per process."""
    return json.loads((CONTEXTS_DIR / file_name).read_text("utf-8"))


def bundled_context_urls() -> frozenset[str]:
    """Every context URL the loader serves (aliases included)."""
    return frozenset(_context_files())


def document_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """pyld document loader that serves only the contexts bundled in generator/contexts/.

    It never touches the network: an unknown URL raises a pyld `JsonLdError`. The returned
    remote document carries `"tag": "static"`, which tells pyld's context resolver that the
    document never changes, so the processed context is kept in pyld's process-wide cache and
    is not re-processed on every call (without a tag pyld caches only per operation).
    """
    file_name = _context_files().get(url)
    if file_name is None:
        raise jsonld.JsonLdError(
            f"JSON-LD context {url} is not bundled with Rugzak (generator/contexts/); "
            "contexts are never fetched from the network",
            "jsonld.LoadDocumentError", {"url": url}, code="loading document failed")
    return {"contentType": "application/ld+json", "contextUrl": None, "documentUrl": url,
            # a copy, because pyld may rewrite nested @context URLs in place
            "document": copy.deepcopy(_parsed_context(file_name)), "tag": "static"}


def _is_absolute(iri: Any) -> bool:
    # pyld's own test: scheme ":" non-space, blank node ids ("_:b0") included
    return bool(jsonld._is_absolute_iri(iri))


def _index_paths(node: Any, path: str, paths: dict[int, str]) -> None:
    """Map id() of every JSON object/array in `node` to its JSON path."""
    paths.setdefault(id(node), path)
    if isinstance(node, dict):
        for key, value in node.items():
            if key != "@context" and isinstance(value, (dict, list)):
                _index_paths(value, f"{path}.{key}" if path else key, paths)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            if isinstance(value, (dict, list)):
                _index_paths(value, f"{path}[{i}]", paths)


class _StrictProcessor(jsonld.JsonLdProcessor):
    """pyld processor that reports, instead of dropping, what no context defines.

    Why this way: walking the compact input ourselves would mean re-implementing JSON-LD 1.1
    context scoping (type-scoped, property-scoped, @protected, @propagate, @nest), which the
    VC 2.0 and OB 3.0 contexts use heavily. Instead we hook pyld's own expansion: every JSON
    object of the input passes through `_expand_object` together with the exact active
    context pyld uses for its keys, so we ask pyld's `_expand_iri` the same question it asks
    itself ("absolute IRI or keyword?") and afterwards inspect what it produced for `@type`,
    `@id` and @id-typed string values. pyld deep-copies the input before expanding, so the
    JSON paths are indexed on that copy when the root element first arrives in `_expand`.
    """

    def __init__(self) -> None:
        super().__init__()
        self._paths: dict[int, str] | None = None
        self._problems: dict[tuple[str, str], None] = {}  # ordered set

    def expand(self, input_: Any, options: dict[str, Any]) -> list[Any]:
        self._paths, self._problems = None, {}
        expanded = super().expand(input_, options)
        if self._problems:
            problems = tuple(self._problems)
            raise UndefinedTermError(*problems[0], problems=problems)
        return expanded

    def _expand(self, active_ctx: dict[str, Any], active_property: str | None, element: Any,
                options: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        if self._paths is None:
            self._paths = {}
            _index_paths(element, "", self._paths)
        return super()._expand(active_ctx, active_property, element, options,
                               *args, **kwargs)

    def _expand_object(self, active_ctx: dict[str, Any], active_property: str | None,
                       expanded_active_property: str | None, element: dict[str, Any],
                       expanded_parent: dict[str, Any], options: dict[str, Any],
                       *args: Any, **kwargs: Any) -> None:
        base = (self._paths or {}).get(id(element), "?")

        def at(key: str) -> str:
            return f"{base}.{key}" if base else key

        keys: dict[str, str] = {}  # expanded IRI or keyword -> key as written
        for key in element:
            if key == "@context":
                continue
            iri = self._expand_iri(active_ctx, key, vocab=True)
            if iri is None or not (_is_absolute(iri) or jsonld._is_keyword(iri)):
                self._problems[(at(key), key)] = None
            else:
                keys.setdefault(iri, key)
        super()._expand_object(active_ctx, active_property, expanded_active_property,
                               element, expanded_parent, options, *args, **kwargs)
        # An undefined type name stays relative (base is None) and is dropped later by
        # toRdf; value-object datatypes ("@value" + "@type") pyld already rejects itself.
        if "@type" in keys and "@value" not in expanded_parent:
            for value in jsonld.JsonLdProcessor.arrayify(expanded_parent.get("@type")):
                if isinstance(value, str) and not (_is_absolute(value)
                                                   or jsonld._is_keyword(value)):
                    self._problems[(at(keys["@type"]), value)] = None
        node_id = expanded_parent.get("@id")
        if "@id" in keys and isinstance(node_id, str) and not _is_absolute(node_id):
            self._problems[(at(keys["@id"]), node_id)] = None
        # @id- or @vocab-typed string values (e.g. "url": "page.html") become node references
        for iri, key in keys.items():
            written = [v for v in jsonld.JsonLdProcessor.arrayify(element[key])
                       if isinstance(v, str)]
            if jsonld._is_keyword(iri) or not written:
                continue
            for value in jsonld.JsonLdProcessor.arrayify(expanded_parent.get(iri)):
                ref = value.get("@id") if isinstance(value, dict) and len(value) == 1 else None
                if isinstance(ref, str) and not _is_absolute(ref) and ref in written:
                    self._problems[(at(key), ref)] = None


def _options() -> dict[str, Any]:
    # "base": None — digest G.4: pyld's default base is http://example.org/base/
    return {"documentLoader": document_loader, "base": None}


def expand_strict(document: dict[str, Any]) -> list[Any]:
    """Expand a JSON-LD document offline; raise UndefinedTermError on any undefined term."""
    return _StrictProcessor().expand(document, _options())


def check_terms(document: dict[str, Any]) -> None:
    """Raise UndefinedTermError if any key or type/id value of `document` is undefined."""
    expand_strict(document)


def canonicalize(document: dict[str, Any]) -> str:
    """RDFC-1.0 (URDNA2015) canonical N-Quads of a JSON-LD document.

    Offline (bundled contexts only), base IRI null, and strict: raises UndefinedTermError
    rather than silently leaving data out of what gets signed. Documents of a shape seen
    before skip JSON-LD expansion (see `_shape_dataset`); the result is the same.
    """
    dataset = _dataset_from_shape(document)
    if dataset is None:
        return canonicalize_full(document)
    return URDNA2015().main(dataset, dict(_NORMALIZE_OPTIONS))


def canonicalize_full(document: dict[str, Any]) -> str:
    """`canonicalize` by full JSON-LD processing every time (the reference for the shapes)."""
    return _StrictProcessor().normalize(document, {**_NORMALIZE_OPTIONS, **_options()})


# --- shapes: expand once, substitute values ---------------------------------------------------
#
# Why: expanding a credential against the VC 2.0 and OB 3.0 contexts is ~90 % of the cost of
# canonicalizing it, and every award of a site has the same keys, types and contexts — only
# string values differ. So each string value (other than `type`s and `@` keywords) is replaced
# by a numbered slot IRI, the slotted document is converted to RDF once per shape, and later
# documents of that shape get the RDF dataset by putting their values back into the slots,
# then only RDFC-1.0 runs. That is exact when a value's role in the RDF does not depend on
# the value itself, which is checked: a slot must come out whole (never inside another
# term, as with `@json` literals), and a value that lands in an IRI position must be an
# absolute IRI that JSON-LD leaves as it is (`https?://`, `urn:`, `did:` — with only bundled
# contexts, none of which defines those prefixes as terms). Anything else takes the full path.

_SLOT = "urn:x-rugzak-slot:"
_PLAIN_IRI = re.compile(r"^(?:https?://|urn:|did:)[^\x00-\x20<>\"{}|^`\\]+$")
_SHAPES: dict[str, "_Shape | None"] = {}
_MAX_SHAPES = 256


@dataclass(frozen=True)
class _Shape:
    dataset: dict[str, list[dict[str, Any]]]  # RDF with slot IRIs in place of values
    iri_slots: frozenset[int]                 # slots that are IRIs (values must be plain)


def _slotted(document: dict[str, Any]) -> tuple[str, list[str]] | None:
    """(shape key, values) — the document with its string values numbered, or None when
    its contexts are not all bundled context URLs."""
    contexts = jsonld.JsonLdProcessor.arrayify(document.get("@context"))
    files = _context_files()
    if not contexts or not all(isinstance(c, str) and c in files for c in contexts):
        return None
    values: list[str] = []

    def walk(node: Any, key: str) -> Any:
        if isinstance(node, dict):
            return {k: v if k == "@context" else walk(v, k) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(item, key) for item in node]
        if isinstance(node, str) and key not in ("type", "@type") and \
                (not key.startswith("@") or key in ("@id", "@value")):
            values.append(node)
            return f"{_SLOT}{len(values) - 1}"
        return node

    slotted = walk(document, "")
    key = json.dumps(slotted, sort_keys=True, ensure_ascii=False)
    if key.count(_SLOT) != len(values):  # the document itself writes a slot IRI (a type?)
        return None
    return key, values


def _shape(key: str) -> "_Shape | None":
    """The RDF of a slotted document, or None when slots do not come out whole."""
    dataset = _StrictProcessor().to_rdf(json.loads(key), {
        **_options(), "produceGeneralizedRdf": False})
    iri_slots: set[int] = set()
    for triples in dataset.values():
        for triple in triples:
            for part, term in triple.items():
                value = term.get("value", "")
                if _SLOT in value and not (value.startswith(_SLOT) and part != "predicate"
                                           and term["type"] in ("IRI", "literal")):
                    return None
                if _SLOT in term.get("datatype", "") or _SLOT in term.get("language", ""):
                    return None
                if value.startswith(_SLOT) and term["type"] == "IRI":
                    iri_slots.add(int(value[len(_SLOT):]))
    if any(_SLOT in name for name in dataset):
        return None
    return _Shape(dataset, frozenset(iri_slots))


def _known_shape(key: str) -> "_Shape | None":
    if key not in _SHAPES:
        if len(_SHAPES) >= _MAX_SHAPES:
            _SHAPES.clear()
        _SHAPES[key] = _shape(key)
    return _SHAPES[key]


def _dataset_from_shape(document: dict[str, Any]) -> dict[str, list[dict[str, Any]]] | None:
    """The document's RDF dataset built from its shape, or None to take the full path."""
    slotted = _slotted(document)
    if slotted is None:
        return None
    key, values = slotted
    shape = _known_shape(key)
    odd = [i for i in shape.iri_slots if not _PLAIN_IRI.match(values[i])] if shape else []
    if odd:
        # An IRI slot holding a term (e.g. proofPurpose "assertionMethod", which @vocab
        # turns into an IRI) or a relative reference: those values go back into the shape,
        # which is then exact for them by construction (it is their own full processing).
        for i in sorted(odd):
            key = key.replace(json.dumps(f"{_SLOT}{i}"), json.dumps(values[i],
                                                                     ensure_ascii=False))
        shape = _known_shape(key)
        if shape is not None and not all(_PLAIN_IRI.match(values[i])
                                         for i in shape.iri_slots):
            return None
    if shape is None:
        return None

    def fill(term: dict[str, Any]) -> dict[str, Any]:
        value = term["value"]
        if value.startswith(_SLOT):
            return {**term, "value": values[int(value[len(_SLOT):])]}
        return dict(term)

    dataset = {}
    for name, triples in shape.dataset.items():
        # An RDF dataset is a set: two slots that receive the same IRI (one node written in
        # two places) give the same triples twice, which JSON-LD processing merges.
        unique: dict[tuple, dict[str, Any]] = {}
        for triple in triples:
            filled = {part: fill(term) for part, term in triple.items()}
            unique.setdefault(_triple_key(filled), filled)
        dataset[name] = list(unique.values())
    return dataset


def _triple_key(triple: dict[str, dict[str, Any]]) -> tuple:
    return tuple((part, term.get("type"), term.get("value"), term.get("datatype"),
                  term.get("language")) for part, term in sorted(triple.items()))


def jsonld_error_message(error: BaseException | None) -> str:
    """The most specific message in a chain of pyld errors (pyld wraps causes twice)."""
    message = ""
    while error is not None:
        # JsonLdError.__str__ is a repr of its args plus type/code lines; args[0] is the text
        message = str(error.args[0]) if error.args else type(error).__name__
        error = error.__cause__
    return message
