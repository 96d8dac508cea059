"""Loading: YAML with line numbers, front matter, and refusing unsafe input."""

import os
import threading
from pathlib import Path

import pytest

from conftest import make_site
from generator.load import load_content, parse_yaml


def test_line_numbers_of_nested_fields() -> None:
    data, lines = parse_yaml("a: 1\nb:\n  - x\n  - url: https://e.org/\n")
    assert data == {"a": 1, "b": ["x", {"url": "https://e.org/"}]}
    assert lines[("a",)] == 1
    assert lines[("b", 1, "url")] == 4


def test_front_matter_lines_count_from_top_of_file(tmp_path: Path) -> None:
    content = make_site(tmp_path)
    loaded, problems = load_content(content)
    assert problems == []
    badge = next(r for r in loaded.records if r.kind == "badge")
    assert badge.line_of(("image",)) == 4
    assert "T-verbinding" in (badge.body or "")


def test_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(20))
    content = make_site(tmp_path, {"learners/bomb.yaml": bomb})
    _, problems = load_content(content)
    assert [p.format() for p in problems] == [
        "content/learners/bomb.yaml:1: error: YAML anchors and aliases (&name / *name) are "
        "not allowed in records\n  hint: write the value out in full"]


def test_symlink_leaving_content_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text("name: x\n")
    content = make_site(tmp_path)
    (content / "learners" / "link.yaml").symlink_to(secret)
    _, problems = load_content(content)
    assert problems[0].path == "content/learners/link.yaml"
    assert "symbolic link leaves the content folder" in problems[0].message
    assert len(problems) == 1


def test_records_in_sub_folders_are_read(tmp_path: Path) -> None:
    # Git hosts list at most 1,000 entries of a folder: large programmes sort awards by year
    award = "learner: jan\nbadge: lassen-basis\nissued: 2025-03-01\n"
    content = make_site(tmp_path, {"awards/2025/q1/wp-0101.yaml": award,
                                   "awards/2024/wp-0100.yml": award,
                                   "awards/.concept/wp-0102.yaml": award,  # hidden: skipped
                                   "awards/2025/notes.txt": "not a record\n"})
    loaded, problems = load_content(content)
    assert problems == []
    awards = [(r.id, r.display) for r in loaded.records if r.kind == "award"]
    assert ("wp-0100", "content/awards/2024/wp-0100.yml") in awards
    assert ("wp-0101", "content/awards/2025/q1/wp-0101.yaml") in awards
    assert not any(i == "wp-0102" for i, _ in awards)
    assert [d for _, d in awards] == sorted(d for _, d in awards)  # the same order everywhere
    from generator.load import record_ids
    assert set(record_ids(content, "award")) == {i for i, _ in awards}


def test_linked_or_deep_sub_folders_are_reported(tmp_path: Path) -> None:
    from generator.load import MAX_FOLDER_DEPTH
    deep = "awards/" + "/".join(f"d{i}" for i in range(MAX_FOLDER_DEPTH + 1)) + "/x.yaml"
    content = make_site(tmp_path, {deep: "learner: jan\n"})
    (content / "awards" / "link").symlink_to(content / "learners")
    loaded, problems = load_content(content)
    messages = sorted(p.format() for p in problems)
    assert messages == [
        "content/awards/" + "/".join(f"d{i}" for i in range(MAX_FOLDER_DEPTH + 1))
        + f": error: sub-folder nested more than {MAX_FOLDER_DEPTH} deep: not read\n"
        "  hint: move its records up; a level per year or centre is plenty",
        "content/awards/link: error: linked sub-folder: its records are not read\n"
        "  hint: move or copy the folder into the content folder instead of linking"]
    assert not any(r.id == "x" for r in loaded.records)


def test_record_files_with_a_mistaken_extension_are_reported(tmp_path: Path) -> None:
    content = make_site(tmp_path, {"badges/solderen.yaml": "name: Solderen\n",
                                   "awards/2025/wp-0009.YAML": "learner: jan\n",
                                   "awards/README.md": "notes\n",  # not a record: left alone
                                   "badges/solderen.png": b"\x89PNG"})
    _, problems = load_content(content)
    assert sorted(p.format() for p in problems) == [
        "content/awards/2025/wp-0009.YAML: error: not read: records in awards/ are .yaml or "
        ".yml files\n  hint: rename it to 'wp-0009.yaml'",
        "content/badges/solderen.yaml: error: not read: records in badges/ are .md files\n"
        "  hint: rename it to 'solderen.md' (a badge class is Markdown, its fields YAML "
        "front matter between --- lines)"]


def test_invalid_utf8_names_line(tmp_path: Path) -> None:
    content = make_site(tmp_path, {"learners/bad.yaml": b"name: ok\nidentifier: \xff@x.org\n"})
    _, problems = load_content(content)
    assert problems[0].format().startswith("content/learners/bad.yaml:2: error: file is not "
                                           "valid UTF-8")


def test_missing_site_yaml(tmp_path: Path) -> None:
    content = make_site(tmp_path, {"site.yaml": None})
    _, problems = load_content(content)
    assert problems[0].message == "site.yaml is missing"


def test_loading_keeps_no_parse_trees(site_dir: Path) -> None:
    """The YAML constructor must not remember every node it built (memory on large sites)."""
    from generator import load
    loaded, problems = load.load_content(site_dir)
    assert not problems
    assert not load._constructor.constructed_objects
    assert not load._constructor.recursive_objects


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this system")
def test_special_files_are_refused_without_being_opened(tmp_path: Path) -> None:
    """A named pipe among the records would block the build forever once opened."""
    content = make_site(tmp_path, {"status.yaml": None})
    pipes = [content / "awards" / "zz.yaml", content / "status.yaml"]
    for pipe in pipes:
        os.mkfifo(pipe)
    (content / "learners" / "folder.yaml").mkdir()
    opened: list[Path] = []
    done = threading.Event()

    def watch() -> None:  # should the loader open a pipe: notice it, and let it go on
        while not done.wait(0.02):
            for pipe in pipes:
                try:  # opening to write without blocking works only while a reader waits
                    os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
                    opened.append(pipe)
                except OSError:
                    pass

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        _, problems = load_content(content)
    finally:
        done.set()
        watcher.join()
    assert not opened
    assert sorted(p.format() for p in problems) == [
        "content/awards/zz.yaml: error: not a regular file (it is a FIFO (named pipe))\n"
        "  hint: a record must be an ordinary file: remove it, or put a file in its place",
        "content/learners/folder.yaml: error: not a regular file (it is a folder)\n"
        "  hint: a record must be an ordinary file: remove it, or put a file in its place",
        "content/status.yaml: error: not a regular file (it is a FIFO (named pipe))\n"
        "  hint: a record must be an ordinary file: remove it, or put a file in its place"]


def test_deep_nesting_is_refused_with_its_line(tmp_path: Path) -> None:
    """Values nested hundreds of levels deep (libyaml allows 1,000) would exhaust the
    recursion limit of any walk over them: they are refused where they get too deep."""
    content = make_site(tmp_path, {
        "learners/deep.yaml": "name: x\nidentifier: d@example.org\ntags: "
                              + "[" * 900 + "]" * 900 + "\n",
        "learners/block.yaml": "name: x\n" + "".join(" " * i + "a:\n" for i in range(40))})
    _, problems = load_content(content)
    assert sorted(p.format() for p in problems) == [
        "content/learners/block.yaml:34: error: values are nested too deeply (more than 32 "
        "levels)\n  hint: records need only a few levels of lists and fields",
        "content/learners/deep.yaml:3: error: values are nested too deeply (more than 32 "
        "levels)\n  hint: records need only a few levels of lists and fields"]


def test_symlink_loop_is_refused(tmp_path: Path) -> None:
    content = make_site(tmp_path)
    (content / "learners" / "loop.yaml").symlink_to("loop.yaml")
    _, problems = load_content(content)
    assert [p.format() for p in problems] == [
        "content/learners/loop.yaml: error: symbolic link loop: following it leads back to "
        "itself\n  hint: remove the link, or point it at a file"]
