"""Load records from a content folder: YAML and front matter, with line numbers.

Nothing here judges field values (that is `validate`); this stage only turns files into plain
Python values and remembers where each value came from, so later errors can name a line.
It refuses what is unsafe to even read: symlinks that leave the content folder, files that
are not regular files (a named pipe would block the build forever), huge files, invalid UTF-8,
values nested too deeply, and YAML anchors/aliases (the "billion laughs" bomb needs them;
records do not).
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import stat
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from generator.errors import Diagnostic, display_path, shown
from generator.record_cache import RecordCache, Stamp, decode, stamp_of

# Kinds of record and the folder/extensions they live in.
RECORD_FOLDERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "issuer": ("issuers", (".yaml", ".yml")),
    "badge": ("badges", (".md",)),
    "learner": ("learners", (".yaml", ".yml")),
    "award": ("awards", (".yaml", ".yml")),
    "path": ("paths", (".yaml", ".yml")),
    "endorser": ("endorsers", (".yaml", ".yml")),
    "endorsement": ("endorsements", (".yaml", ".yml")),
}
# Site-wide files beside site.yaml: revocations (award id → date, reason) and the status list
# ledger (award id → status list index, allocated once and never reused).
SPECIAL_FILES = ("revocations", "status")
MAX_RECORD_BYTES = 5_000_000
# Records need a few levels (award → evidence → item → name → language); far deeper nesting
# is hostile, and would exhaust Python's recursion limit in any recursive walk of the values.
MAX_NESTING = 32
# Record folders may hold sub-folders (awards/2025/…); deeper than this is a mistake or hostile.
MAX_FOLDER_DEPTH = 8
# Opened without blocking: should a named pipe replace a record between the check of its
# type and the open, the open returns at once (and the file's type is checked again).
_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)
               | getattr(os, "O_NOCTTY", 0))
_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_constructor = yaml.constructor.SafeConstructor()

FieldPath = tuple[Any, ...]
_STR_TAG = "tag:yaml.org,2002:str"


@dataclass(frozen=True)
class RawRecord:
    """One record file as loaded: its values, and the line each value starts on.

    Line numbers are only needed for error messages, which are rare, and a map of every
    field's line costs more memory than the values themselves (~1.5 KB a record). So a
    record loaded from its file finds them when first asked: by parsing the file again."""

    kind: str
    id: str
    path: Path
    display: str
    data: dict[str, Any]
    known_lines: dict[FieldPath, int] | None = field(default=None, compare=False)
    body: str | None = None
    body_line: int = 0
    root: Path | None = field(default=None, compare=False)  # the content folder
    stamp: Stamp | None = field(default=None, compare=False)  # the file's, as it was read
    # From the record cache, when validation left what it made of this file there: the
    # values' text, not yet decoded (`data` stays empty until `with_values`), and that.
    cached: tuple[str, str] | None = field(default=None, compare=False)

    def with_values(self) -> RawRecord:
        """This record with its values (decoded from the cache text if they were left there;
        the file is parsed again should that text be damaged). Raises LoadError."""
        if self.cached is None:
            return self
        try:
            kind, data, body, body_line = decode(self.cached[0])
            if kind != self.kind or not isinstance(data, dict):
                raise ValueError("another kind of record")
        except (ValueError, TypeError, KeyError):
            try:
                data, _, body, body_line = _parse_record(
                    self.kind, self.path, self.root or self.path.parent, None, False)
            except _LoadProblem as exc:
                raise LoadError(Diagnostic(self.display, exc.line, exc.message, exc.hint)
                                ) from None
            except OSError as exc:
                raise LoadError(Diagnostic(self.display, 0, f"cannot read file: "
                                           f"{exc.strerror or exc}")) from None
        return dataclasses.replace(self, data=data, body=body, body_line=body_line,
                                   cached=None)

    @functools.cached_property
    def lines(self) -> dict[FieldPath, int]:
        """Field path → line (the first time: by parsing the record's file again)."""
        if self.known_lines is not None:
            return self.known_lines
        try:
            return _parse_record(self.kind, self.path, self.root or self.path.parent,
                                 None, with_lines=True)[1]
        except (_LoadProblem, OSError):
            return {}  # changed on disk since it was loaded: no line beats a wrong one

    def slim(self) -> RawRecord:
        """This record without its values (they live on cleaned), for later error messages:
        it still names its file and finds lines, and a learner keeps its slug (its key)."""
        slug = self.data.get("slug") if self.kind == "learner" else None
        # (kept for every record but awards: the stamp alone would be ~200 bytes each)
        return dataclasses.replace(self, data={"slug": slug} if isinstance(slug, str) else {},
                                   body=None, stamp=None, cached=None)

    def line_of(self, path: FieldPath = ()) -> int:
        """Line of a field (or of its closest parent that has one); 1 when unknown."""
        lines = self.lines
        while path:
            if path in lines:
                return lines[path]
            path = path[:-1]
        return lines.get((), 1)


@dataclass(frozen=True)
class LoadedContent:
    """Everything read from a content folder.

    From `stream_content`, `records` can be iterated once: each record is read when it is
    reached (so a build need not hold every record's raw values at once), and problems and
    `seconds` grow as it goes."""

    root: Path
    site: RawRecord | None
    records: Iterable[RawRecord]
    special: dict[str, RawRecord] = field(default_factory=dict)  # revocations, status
    seconds: list[float] = field(default_factory=lambda: [0.0], compare=False)
    # where validation may leave what it made of a record (see RawRecord.cached)
    memory: RecordCache | None = field(default=None, compare=False)


class LoadError(Exception):
    """A record that cannot be read after all (see `RawRecord.with_values`)."""

    def __init__(self, problem: Diagnostic):
        super().__init__(problem.message)
        self.problem = problem


class _LoadProblem(Exception):
    def __init__(self, line: int, message: str, hint: str = ""):
        super().__init__(message)
        self.line, self.message, self.hint = line, message, hint


def _to_value(node: yaml.Node, path: FieldPath, lines: dict[FieldPath, int] | None,
              seen: set[int], offset: int, depth: int = 0) -> Any:
    """Turn a composed YAML node into plain values, recording lines (unless `lines` is
    None); reject aliases and nesting deeper than `MAX_NESTING`."""
    if depth > MAX_NESTING:
        raise _LoadProblem(node.start_mark.line + 1 + offset,
                           f"values are nested too deeply (more than {MAX_NESTING} levels)",
                           "records need only a few levels of lists and fields")
    if id(node) in seen:
        raise _LoadProblem(node.start_mark.line + 1 + offset,
                           "YAML anchors and aliases (&name / *name) are not allowed in records",
                           "write the value out in full")
    seen.add(id(node))
    if lines is not None:
        lines.setdefault(path, node.start_mark.line + 1 + offset)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise _LoadProblem(key_node.start_mark.line + 1 + offset,
                                   "YAML merge keys (<<) are not allowed in records")
            key = _to_value(key_node, path, None, seen, offset, depth + 1)
            if not isinstance(key, str):
                raise _LoadProblem(key_node.start_mark.line + 1 + offset,
                                   f"field names must be text, not {key!r}",
                                   "put the name in quotes")
            if key in result:
                raise _LoadProblem(key_node.start_mark.line + 1 + offset,
                                   f"field {shown(key)} appears twice")
            if lines is None:
                result[key] = _to_value(value_node, path, None, seen, offset, depth + 1)
                continue
            lines[path + (key,)] = key_node.start_mark.line + 1 + offset
            result[key] = _to_value(value_node, path + (key,), lines, seen, offset, depth + 1)
        return result
    if isinstance(node, yaml.SequenceNode):
        if lines is None:
            return [_to_value(item, path, None, seen, offset, depth + 1)
                    for item in node.value]
        return [_to_value(item, path + (i,), lines, seen, offset, depth + 1)
                for i, item in enumerate(node.value)]
    if node.tag == _STR_TAG:
        return node.value  # what SafeConstructor makes of a string, minus its overhead
    try:
        return _constructor.construct_object(node, deep=True)
    except (yaml.constructor.ConstructorError, ValueError, OverflowError) as exc:
        raise _LoadProblem(node.start_mark.line + 1 + offset,
                           f"cannot read value {node.value!r}: {exc}") from None
    finally:
        # The constructor remembers every node it built (for aliases, which records may not
        # use); without this it would keep every record's parse tree for the whole build.
        _constructor.constructed_objects.clear()
        _constructor.recursive_objects.clear()


# Where an anchor (&name) or alias (*name) could start: at a line start or after a flow or
# block indicator, followed by a name character. Text like "zorg & precisie" does not match,
# so only the rare record that may hold one pays for the event scan. Safety does not hang
# on this: `_to_value` refuses any node reached twice (what an alias is) in any case.
_MAYBE_ANCHOR = re.compile(r"(?:^|[\s\[\{,])[&*][^\s,\[\]\{\}]", re.MULTILINE)


def _refuse_aliases(text: str, offset: int) -> None:
    """Find the first alias (`*name`) by event, so the error names the line it is on."""
    for event in yaml.parse(text, Loader=_YamlLoader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _LoadProblem(event.start_mark.line + 1 + offset,
                               "YAML anchors and aliases (&name / *name) are not allowed in "
                               "records", "write the value out in full")


def parse_yaml(text: str, offset: int = 0, with_lines: bool = True
               ) -> tuple[Any, dict[FieldPath, int] | None]:
    """Parse one YAML document into plain values and a field-path → line map (None without
    `with_lines`).

    `offset` is added to every line (front matter starts below the `---`).
    Raises `_LoadProblem` with a line number on any syntax problem.
    """
    try:
        if ("&" in text or "*" in text) and _MAYBE_ANCHOR.search(text):
            _refuse_aliases(text, offset)
        node = yaml.compose(text, Loader=_YamlLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = (mark.line + 1 + offset) if mark else 1 + offset
        raise _LoadProblem(line, f"YAML syntax error: {exc.problem or exc.context}",
                           "check indentation, and put text with ':' or '#' in quotes") from None
    except yaml.YAMLError as exc:  # e.g. a second document
        raise _LoadProblem(1 + offset, f"YAML error: {exc}") from None
    except RecursionError:  # the pure-Python composer recurses (libyaml stops at 1,000 levels)
        raise _LoadProblem(1 + offset, "values are nested too deeply",
                           "records need only a few levels of lists and fields") from None
    if node is None:
        return None, {} if with_lines else None
    lines: dict[FieldPath, int] | None = {} if with_lines else None
    return _to_value(node, (), lines, set(), offset), lines


def split_front_matter(text: str) -> tuple[str, int, str, int]:
    """Split `---\\nYAML\\n---\\nbody` into (yaml, yaml_offset, body, body_first_line)."""
    all_lines = text.splitlines(keepends=True)
    if not all_lines or all_lines[0].strip() != "---":
        raise _LoadProblem(1, "a badge file must start with a '---' line (YAML front matter)",
                           "put the badge fields between two '---' lines, criteria below")
    for index in range(1, len(all_lines)):
        if all_lines[index].strip() == "---":
            front = "".join(all_lines[1:index])
            body = "".join(all_lines[index + 1:])
            return front, 1, body, index + 2
    raise _LoadProblem(1, "the front matter is not closed by a second '---' line")


def _inside(path: Path, root: Path) -> bool:
    """Whether `path`, links followed, is inside `root` (a link loop is a load problem)."""
    try:
        return path.resolve().is_relative_to(root.resolve())
    except RuntimeError:  # Python 3.11/3.12 on a loop ("Symlink loop from …")
        raise _LoadProblem(0, "symbolic link loop: following it leads back to itself",
                           "remove the link, or point it at a file") from None


_FILE_TYPES = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
               (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
               (stat.S_ISBLK, "a block device"))


def _refuse_irregular(mode: int) -> None:
    """Raise the load problem for a file whose `st_mode` is not a regular file's: reading a
    named pipe blocks until something writes to it, a device may never end."""
    if stat.S_ISREG(mode):
        return
    what = next((name for test, name in _FILE_TYPES if test(mode)), "a special file")
    raise _LoadProblem(0, f"not a regular file (it is {what})",
                       "a record must be an ordinary file: remove it, or put a file in its place")


def read_text_file(path: Path, root: Path, links: frozenset[Path] | None = None) -> str:
    """Read a UTF-8 record file, refusing symlink escapes, special files (never opened),
    huge files and bad encodings.

    `links` (every symbolic link under `root`, when the caller listed them) spares the
    path resolution for a file that is neither a link nor inside a linked folder."""
    if (links is None or path in links or path.parent in links) and not _inside(path, root):
        raise _LoadProblem(0, "this file is a link to a place outside the content folder",
                           "copy the file into the content folder instead of linking it")
    _refuse_irregular(os.stat(path).st_mode)  # (of the link's target, as read below)
    with open(os.open(path, _OPEN_FLAGS), "rb") as file:
        info = os.fstat(file.fileno())
        _refuse_irregular(info.st_mode)  # replaced since the check above
        if info.st_size > MAX_RECORD_BYTES:
            raise _LoadProblem(0, f"file is too large ({info.st_size:,} bytes; the limit is "
                                  f"{MAX_RECORD_BYTES:,})")
        raw = file.read(MAX_RECORD_BYTES + 1)  # bounded: the file may grow while it is read
    if len(raw) > MAX_RECORD_BYTES:
        raise _LoadProblem(0, f"file is too large (more than {MAX_RECORD_BYTES:,} bytes)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise _LoadProblem(line, f"file is not valid UTF-8 (byte {exc.start})",
                           "save the file as UTF-8") from None
    return text.removeprefix("\ufeff")


def _parse_record(kind: str, path: Path, root: Path, links: frozenset[Path] | None,
                  with_lines: bool) -> tuple[dict[str, Any], dict[FieldPath, int] | None,
                                             str | None, int]:
    """(values, line map or None, body, body's first line) of one record file."""
    text = read_text_file(path, root, links)
    body, body_line, offset = None, 0, 0
    if kind == "badge":
        text, offset, body, body_line = split_front_matter(text)
    data, lines = parse_yaml(text, offset, with_lines)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise _LoadProblem(1 + offset, f"the record must be a set of 'field: value' lines, "
                                       f"not a {type(data).__name__}")
    return data, lines, body, body_line


def _load_record(kind: str, path: Path, root: Path, links: frozenset[Path] | None = None
                 ) -> RawRecord:
    data, _, body, body_line = _parse_record(kind, path, root, links, with_lines=False)
    return RawRecord(kind, path.stem, path, display_path(path, root), data, None, body,
                     body_line, root)


def _record_names(folder: Path, extensions: tuple[str, ...],
                  problems: list[Diagnostic], root: Path) -> list[str]:
    """Names of the record files under `folder`, sub-folders included ("2025/wp-0001.yaml"),
    sorted (names, not paths: a Path per file of a 100,000-file folder, all alive at once,
    would cost ~25 MB). Large programmes sort awards into sub-folders (by year, by centre):
    Git hosts list at most 1,000 entries of a folder. Hidden entries are skipped; a linked
    or too deeply nested sub-folder, and a record file with a mistaken extension, are
    reported, not read."""
    if not folder.is_dir():
        return []
    walk = _RecordWalk(folder, extensions, problems, root)
    while walk.stack:
        prefix, depth = walk.stack.pop()
        try:
            listing = os.scandir(os.path.join(folder, prefix) if prefix else folder)
        except OSError as exc:
            walk.problem(prefix, f"cannot read folder: {exc.strerror or exc}")
            continue
        with listing:  # entry by entry: a list of a 100,000-file folder would cost ~20 MB
            for entry in listing:
                walk.sort(entry, prefix, depth)
    # sorted by name (the same order as sorting the paths, at a tenth the cost)
    walk.names.sort()
    return walk.names


# Extensions a record is easily given by mistake, per the extensions of the folder: a badge
# class written as YAML, or an upper-case extension, would be left out without a word.
_MISTAKEN = {(".md",): (".yaml", ".yml")}


class _RecordWalk:
    """What `_record_names` found so far: record names, folders still to read, problems."""

    def __init__(self, folder: Path, extensions: tuple[str, ...], problems: list[Diagnostic],
                 root: Path):
        self.folder, self.extensions, self.problems, self.root = folder, extensions, problems, root
        self.mistaken = extensions + _MISTAKEN.get(extensions, ())
        self.names: list[str] = []
        self.stack = [("", 0)]

    def problem(self, relative: str, message: str, hint: str = "") -> None:
        self.problems.append(Diagnostic(display_path(self.folder / relative, self.root), 0,
                                        message, hint))

    def sort(self, entry: os.DirEntry[str], prefix: str, depth: int) -> None:
        """File one entry of the folder `prefix`: a record, a sub-folder to read, a problem."""
        name = entry.name
        if name.startswith("."):
            return
        stem, suffix = os.path.splitext(name)
        if suffix in self.extensions:
            self.names.append(prefix + name)
        elif suffix.lower() in self.mistaken and entry.is_file(follow_symlinks=False):
            self.problem(prefix + name, f"not read: records in {self.folder.name}/ are "
                         f"{' or '.join(self.extensions)} files",
                         f"rename it to '{stem}{self.extensions[0]}'" + (
                             " (a badge class is Markdown, its fields YAML front matter "
                             "between --- lines)" if self.extensions == (".md",) else ""))
        elif entry.is_dir(follow_symlinks=False):
            if depth < MAX_FOLDER_DEPTH:
                self.stack.append((prefix + name + "/", depth + 1))
            else:
                self.problem(prefix + name, f"sub-folder nested more than {MAX_FOLDER_DEPTH} "
                             "deep: not read",
                             "move its records up; a level per year or centre is plenty")
        elif entry.is_symlink() and os.path.isdir(entry.path):
            self.problem(prefix + name, "linked sub-folder: its records are not read",
                         "move or copy the folder into the content folder instead of linking")


def record_ids(root: Path, kind: str) -> list[str]:
    """The ids of the `kind` records under the content folder `root` (file names without
    extension, sub-folders included), without reading them."""
    folder, extensions = RECORD_FOLDERS[kind]
    return [os.path.splitext(name.rpartition("/")[2])[0]
            for name in _record_names(root / folder, extensions, [], root)]


def find_links(root: Path) -> list[Path]:
    """Every symbolic link under `root` (not followed). The folder listing says which
    entries are links, so this costs no system call per file."""
    links: list[Path] = []
    stack = [str(root)]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if entry.is_symlink():
                links.append(Path(entry.path))
            elif entry.is_dir(follow_symlinks=False):
                stack.append(entry.path)
    return sorted(links)


def load_content(root: Path, cache_folder: Path | None = None
                 ) -> tuple[LoadedContent, list[Diagnostic]]:
    """Read site.yaml and every record under `root`; problems are returned, not raised.

    With `cache_folder`, records whose files did not change since the last load are taken
    from there instead of being parsed again (see generator/record_cache.py)."""
    loaded, problems = stream_content(root, cache_folder)
    records = []
    for record in loaded.records:  # every record with its values: callers read them
        try:
            records.append(record.with_values())
        except LoadError as exc:
            problems.append(exc.problem)
    return dataclasses.replace(loaded, records=tuple(records), memory=None), problems


def stream_content(root: Path, cache_folder: Path | None = None
                   ) -> tuple[LoadedContent, list[Diagnostic]]:
    """Like `load_content`, but the records are read one by one as `records` is iterated;
    their problems are added to the returned list as they are found."""
    problems: list[Diagnostic] = []
    start = time.perf_counter()
    remembered = RecordCache(cache_folder, root)
    links = frozenset(find_links(root))
    escaping: set[Path] = set()  # links never followed: out of the folder, or in a loop
    for link in sorted(links):
        try:
            if _inside(link, root):
                continue
            problem = _LoadProblem(0, "symbolic link leaves the content folder",
                                   "copy the file into the content folder instead of linking")
        except _LoadProblem as exc:
            problem = exc
        escaping.add(link)
        problems.append(Diagnostic(display_path(link, root), 0, problem.message, problem.hint))

    def attempt(kind: str, path: Path) -> RawRecord | None:
        if escaping and path in escaping:  # (hashing a Path costs: usually none)
            return None
        try:
            if links and (path in links or path.parent in links):  # followed afresh each time
                return _load_record(kind, path, root, links)
            info = os.stat(path)  # (not opened: a named pipe would block)
            _refuse_irregular(info.st_mode)
            current = stamp_of(info)
            found = remembered.fetch(path, current)
            if found is not None and found[1] is not None:  # decoded when needed (rarely)
                return RawRecord(kind, path.stem, path, display_path(path, root), {}, None,
                                 None, 0, root, current, (found[0], found[1]))
            known = _decoded_row(found[0]) if found is not None else None
            if known is not None and known[0] == kind:
                return RawRecord(kind, path.stem, path, display_path(path, root), known[1],
                                 None, known[2], known[3], root, current)
            record = dataclasses.replace(_load_record(kind, path, root, links), stamp=current)
            remembered.put(path, current, (kind, record.data, record.body, record.body_line))
            return record
        except _LoadProblem as exc:
            problems.append(Diagnostic(display_path(path, root), exc.line, exc.message, exc.hint))
        except OSError as exc:
            problems.append(Diagnostic(display_path(path, root), 0,
                                       f"cannot read file: {exc.strerror or exc}"))
        return None

    site_path = root / "site.yaml"
    site = None
    # lexists, not is_file: a site.yaml that is a folder or a pipe is reported as such
    if os.path.lexists(site_path):
        site = attempt("site", site_path)
    else:
        problems.append(Diagnostic(display_path(site_path, root), 0, "site.yaml is missing",
                                   "every content folder needs a site.yaml; "
                                   "`rugzak init DIR` creates one"))
    special: dict[str, RawRecord] = {}
    for kind in SPECIAL_FILES:
        path = root / f"{kind}.yaml"
        if os.path.lexists(path):
            loaded_special = attempt(kind, path)
            if loaded_special is not None:
                special[kind] = loaded_special
    seconds = [time.perf_counter() - start]

    def records() -> Iterator[RawRecord]:
        began = time.perf_counter()
        for kind, (folder, extensions) in RECORD_FOLDERS.items():
            directory = root / folder
            for name in _record_names(directory, extensions, problems, root):
                record = attempt(kind, directory / name)
                if record is not None:
                    seconds[0] += time.perf_counter() - began
                    yield record
                    began = time.perf_counter()
        remembered.save()
        seconds[0] += time.perf_counter() - began

    return LoadedContent(root, site, records(), special, seconds, remembered), problems


def _decoded_row(text: str) -> Any | None:
    """A record cache row's values (see `RecordCache.put`), or None when damaged."""
    try:
        return decode(text)
    except (ValueError, TypeError, KeyError):
        return None  # the file is parsed again and the row replaced
