"""Atomic writes: all or nothing, never outside the output folder."""

import contextlib
import os
import shutil
from array import array
from pathlib import Path
from typing import Iterator

import pytest

from generator import write
from generator.errors import UsageError
from generator.parallel import MIN_ITEMS_PER_WORKER
from generator.scaffold import host_files
from generator.write import OutputFile, PathSet, Staging, UnsafeOutputPath, write_site


def test_write_replaces_previous_output(tmp_path: Path) -> None:
    out = tmp_path / "output"
    write_site([OutputFile("a/index.html", b"one"), OutputFile("old.txt", b"x")], out)
    write_site([OutputFile("a/index.html", b"two")], out)
    assert (out / "a/index.html").read_bytes() == b"two"
    assert not (out / "old.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["output"]


@pytest.mark.parametrize("bad", ["../escape.txt", "/etc/passwd", "a/../../x", "a\\..\\x", ""])
def test_paths_leaving_output_are_refused_and_old_output_kept(tmp_path: Path, bad: str) -> None:
    out = tmp_path / "output"
    write_site([OutputFile("keep.txt", b"keep")], out)
    with pytest.raises(UnsafeOutputPath):
        write_site([OutputFile("new.txt", b"new"), OutputFile(bad, b"evil")], out)
    assert (out / "keep.txt").read_bytes() == b"keep"
    assert not (out / "new.txt").exists()
    assert not (tmp_path / "escape.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["output"]


def test_failure_while_writing_keeps_previous_output(tmp_path: Path) -> None:
    out = tmp_path / "output"
    write_site([OutputFile("keep.txt", b"keep")], out)

    def files():
        yield OutputFile("partial.txt", b"p")
        raise KeyboardInterrupt  # a build killed halfway

    with pytest.raises(KeyboardInterrupt):
        write_site(files(), out)
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["output"]


def test_leftovers_of_a_killed_build_are_cleaned(tmp_path: Path) -> None:
    (tmp_path / ".rugzak-tmp-output-abc12_yz").mkdir()
    (tmp_path / ".rugzak-tmp-output-2-abc12_yz").mkdir()  # another output's ("output-2")
    write_site([OutputFile("x.txt", b"x")], tmp_path / "output")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".rugzak-tmp-output-2-abc12_yz",
                                                         "output"]


def test_a_build_killed_between_the_renames_of_a_swap_keeps_the_previous_output(
        tmp_path: Path) -> None:
    # the output was renamed aside, the staged site not yet into place: the next build — one
    # that fails, too — must not delete the only copy of the site
    old = tmp_path / ".rugzak-old-output-abc12_yz"
    old.mkdir()
    (old / "index.html").write_text("previous site")
    (tmp_path / ".rugzak-tmp-output-def34_yz").mkdir()  # the staged site
    with pytest.raises(UnsafeOutputPath):
        write_site([OutputFile("x", b"1"), OutputFile("x", b"2")], tmp_path / "output")
    assert (tmp_path / "output" / "index.html").read_text() == "previous site"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["output"]


def test_duplicate_paths_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UnsafeOutputPath, match="two files"):
        write_site([OutputFile("x", b"1"), OutputFile("x", b"2")], tmp_path / "out")


# --- incremental staging: in-place updates ---------------------------------------------------

def _incremental(out: Path, files: dict[str, bytes]) -> None:
    """One incremental build of `files` (what build() does with a unit index)."""
    expected = PathSet()
    with Staging(out, incremental=True) as staging:
        for path, data in files.items():
            staging.write(OutputFile(path, data))
            expected.add(path)
        staging.commit(expected)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _site(n: int) -> dict[str, bytes]:
    return {f"a/{i:03d}/index.html": f"page {i}".encode() for i in range(n)}


def test_a_small_change_updates_the_output_in_place(tmp_path: Path) -> None:
    out = tmp_path / "output"
    files = _site(20)
    _incremental(out, files)
    root_inode = out.stat().st_ino
    kept = (out / "a/000/index.html").stat()
    (out / "stray.txt").write_bytes(b"by hand")
    (out / "deep/er").mkdir(parents=True)
    (out / "deep/er/left.txt").write_bytes(b"x")
    (out / "link").symlink_to(tmp_path)
    files["a/001/index.html"] = b"changed"
    del files["a/002/index.html"]
    _incremental(out, files)
    assert _tree(out) == files
    assert out.stat().st_ino == root_inode  # not swapped: updated in place
    again = (out / "a/000/index.html").stat()
    assert (again.st_ino, again.st_mtime_ns) == (kept.st_ino, kept.st_mtime_ns)
    assert not (out / "a/002").exists() and not (out / "deep").exists()
    assert not (out / "link").is_symlink()
    assert [p.name for p in tmp_path.iterdir()] == ["output"]


def test_a_large_change_is_swapped_in_whole(tmp_path: Path) -> None:
    out = tmp_path / "output"
    _incremental(out, _site(8))
    root_inode = out.stat().st_ino
    kept = (out / "a/000/index.html").stat().st_ino
    files = {**_site(8), **{f"a/{i:03d}/index.html": b"new" for i in range(1, 8)}}
    _incremental(out, files)
    assert _tree(out) == files
    assert out.stat().st_ino != root_inode
    assert (out / "a/000/index.html").stat().st_ino == kept  # linked, not copied


def test_a_folder_where_a_file_belongs_makes_a_swap(tmp_path: Path) -> None:
    out = tmp_path / "output"
    files = _site(20)
    _incremental(out, files)
    (out / "b").mkdir()
    (out / "b/x.txt").write_bytes(b"old")
    files["b"] = b"now a file"
    _incremental(out, files)
    assert _tree(out) == files


@contextlib.contextmanager
def _second_rename_raises(monkeypatch: pytest.MonkeyPatch, folder: Path,
                          error: BaseException) -> Iterator[None]:
    """Within the block, the second rename out of a staging folder raises `error`."""
    real_replace, calls = os.replace, []

    def replace(source, target):
        if str(source).startswith(str(folder / ".rugzak-tmp-")):
            calls.append(target)
            if len(calls) == 2:
                raise error
        return real_replace(source, target)

    monkeypatch.setattr(write.os, "replace", replace)
    try:
        yield
    finally:
        monkeypatch.setattr(write.os, "replace", real_replace)


def test_a_killed_in_place_update_is_finished_by_the_next_build(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "output"
    files = _site(20)
    _incremental(out, files)
    (out / "stray.txt").write_bytes(b"x")
    files.update({"a/003/index.html": b"three", "a/004/index.html": b"four"})
    with _second_rename_raises(monkeypatch, tmp_path, KeyboardInterrupt()):  # killed
        with pytest.raises(KeyboardInterrupt):
            _incremental(out, files)
    assert any(p.name.startswith(".rugzak-journal-") for p in tmp_path.iterdir())
    write_site([OutputFile("other/x.txt", b"x")], tmp_path / "other")  # another output: untouched
    assert _tree(out) != files
    _incremental(out, files)  # the next build first finishes the killed one
    assert _tree(out) == files
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other", "output"]


def test_the_same_path_from_two_records_is_refused_even_when_kept(tmp_path: Path) -> None:
    out = tmp_path / "output"
    _incremental(out, _site(5))
    expected = PathSet()
    with pytest.raises(UnsafeOutputPath, match="two files"):
        with Staging(out, incremental=True) as staging:
            for path, data in _site(5).items():
                staging.write(OutputFile(path, data))
                expected.add(path)
            expected.add("a/000/index.html")  # a second record claims a kept file
            staging.commit(expected)
    assert _tree(out) == _site(5)
    assert [p.name for p in tmp_path.iterdir()] == ["output"]


def test_a_damaged_journal_is_ignored(tmp_path: Path) -> None:
    out = tmp_path / "output"
    _incremental(out, _site(3))
    (tmp_path / ".rugzak-journal-output").write_text('{"staging": "../../etc", "delete": ["a"]}')
    _incremental(out, _site(3))
    assert _tree(out) == _site(3)
    assert [p.name for p in tmp_path.iterdir()] == ["output"]


def test_a_second_build_into_the_same_output_is_refused_while_one_runs(tmp_path: Path) -> None:
    out = tmp_path / "output"
    write_site([OutputFile("keep.txt", b"keep")], out)
    with Staging(out) as first:
        first.write(OutputFile("new.txt", b"new"))
        with pytest.raises(write.OutputBusy, match="another build"):
            Staging(out)
        assert first.root.is_dir()  # the second did not clear it away as a leftover
        write_site([OutputFile("x.txt", b"x")], tmp_path / "other")  # other outputs are free
        first.commit()
    assert sorted(p.name for p in out.iterdir()) == ["new.txt"]
    write_site([OutputFile("again.txt", b"x")], out)  # free again after the commit
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other", "output"]


def test_an_update_that_cannot_be_finished_says_how_to_start_afresh(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "output"
    _incremental(out, _site(20))
    staged = tmp_path / ".rugzak-tmp-output-x1234567"
    (staged / "a/000").mkdir(parents=True)
    (staged / "a/000/index.html").write_bytes(b"new")
    (tmp_path / ".rugzak-journal-output").write_text(
        '{"staging": ".rugzak-tmp-output-x1234567", "delete": []}')

    def refuse(source, target):
        raise PermissionError(13, "Permission denied", str(target))

    monkeypatch.setattr(write.os, "replace", refuse)
    with pytest.raises(OSError, match="delete the folder and .rugzak-journal-output"):
        Staging(out)


def test_an_error_halfway_through_an_in_place_update_is_finished_next_time(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "output"
    files = _site(20)
    _incremental(out, files)
    files.update({"a/003/index.html": b"three", "a/004/index.html": b"four"})
    with _second_rename_raises(monkeypatch, tmp_path, OSError(28, "No space left on device")):
        with pytest.raises(OSError, match="No space"):
            _incremental(out, files)
    left = sorted(p.name.split("-output")[0] for p in tmp_path.iterdir() if p.name != "output")
    assert left == [".rugzak-journal", ".rugzak-tmp"]  # kept to finish the update
    write.finish_interrupted(tmp_path, "output")
    assert _tree(out) == files
    _incremental(out, files)
    assert _tree(out) == files
    assert [p.name for p in tmp_path.iterdir()] == ["output"]


def test_a_large_change_on_a_file_system_without_hard_links_copies(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "output"
    _incremental(out, _site(8))
    kept = (out / "a/000/index.html").stat().st_mtime_ns

    def no_links(*args, **kwargs):
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr(write.os, "link", no_links)
    files = {**_site(8), **{f"a/{i:03d}/index.html": b"new" for i in range(1, 8)}}
    _incremental(out, files)
    assert _tree(out) == files
    assert (out / "a/000/index.html").stat().st_mtime_ns == kept


@pytest.mark.parametrize("workers", [1, 2])
def test_strays_are_found_alike_by_one_or_several_processes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int) -> None:
    monkeypatch.setattr(write, "SPLIT_MIN_FOLDERS", 1)
    calls = []

    def spy(function, items, context, count):  # type: ignore[no-untyped-def]
        calls.append((len(items), count))
        return write_imap(function, items, context, count)
    write_imap = write.imap_ordered
    monkeypatch.setattr(write, "imap_ordered", spy)
    out = tmp_path / "output"
    expected = PathSet()
    for i in range(150):  # record folders: many entries in a/ and en/a/
        for path in (f"a/{i:03d}/index.html", f"a/{i:03d}/sub/page.html",
                     f"en/a/{i:03d}/index.html"):
            (out / path).parent.mkdir(parents=True, exist_ok=True)
            (out / path).write_text("x")
            expected.add(path)
    (out / "index.html").write_text("x")
    expected.add("index.html")
    strays = ["a/007/sub/left.html", "en/a/149/extra.txt", "en/stray.txt", "a/010/link"]
    for path in strays[:-1]:
        (out / path).write_text("x")
    (out / "a/010/link").symlink_to(out / "index.html")  # a link is never a site file
    expected.add("gone/elsewhere.html")  # expected but absent: not a stray
    assert sorted(write.find_strays(out, expected, workers)) == sorted(strays)
    # the record folders were split into enough chunks for the workers to be used
    assert calls[0][0] >= 2 * MIN_ITEMS_PER_WORKER and calls[0][1] == workers
    expected.add("a/100/index.html")  # two files claim one path
    with pytest.raises(UnsafeOutputPath, match="two files"):
        write.find_strays(out, expected, workers)


def test_a_path_set_answers_alike_for_keys_added_singly_or_spilled_in_batches(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(PathSet, "_BATCH", 7)  # many spilled batches, and some left waiting
    paths = [f"a/b{n:07d}/{name}" for n in range(300) for name in ("index.html", "qr.svg")]
    spilled, single = PathSet(), PathSet()
    for start in range(0, len(paths), 5):  # as units report their files: a few at a time
        spilled.extend(array("q", (write.path_key(p) for p in paths[start:start + 5])))
    spilled.add("index.html")
    for path in [*paths, "index.html"]:
        single.add(path)
    assert spilled._file is not None  # the test covers the temporary file
    assert len(spilled) == len(single) == 601
    for probe in [*paths, "index.html", "a/b9999999/index.html", "sitemap.xml"]:
        assert (probe in spilled) == (probe in single)
    assert spilled._file is None  # read back once, then closed
    spilled.extend(array("q", [write.path_key(paths[3])]))  # the same path once more
    with pytest.raises(UnsafeOutputPath, match="two files"):
        spilled.freeze()
        spilled.check_unique(paths[3])
    assert len(spilled) == 602


def _content(root: Path) -> Path:
    (root / "content").mkdir(parents=True)
    (root / "content" / "site.yaml").write_text("title: x\n")
    return root / "content"


@pytest.mark.parametrize("output", ["content", "content/output", "."])
def test_an_output_folder_that_is_in_or_around_the_content_is_refused(
        tmp_path: Path, output: str) -> None:
    content = _content(tmp_path)
    with pytest.raises(UsageError, match="the content folder"):
        write.check_output_folder(tmp_path / output, content)
    assert (content / "site.yaml").read_text() == "title: x\n"


def test_a_folder_of_the_users_is_never_taken_for_an_output(tmp_path: Path) -> None:
    content = _content(tmp_path)
    theirs = tmp_path / "theirs"
    (theirs / "photos").mkdir(parents=True)
    (theirs / "thesis.docx").write_bytes(b"years of work")
    with pytest.raises(UsageError, match="not empty and was not built by Rugzak"):
        write.check_output_folder(theirs, content)
    (theirs / "_headers").write_text("/*\n  X-Frame-Options: DENY\n")  # a host file, not ours
    with pytest.raises(UsageError, match="'_headers', 'photos', 'thesis.docx'"):
        write.check_output_folder(theirs, content)


def test_a_file_given_as_the_output_folder_is_a_usage_error(tmp_path: Path) -> None:
    content = _content(tmp_path)
    (tmp_path / "site.zip").write_bytes(b"PK")
    with pytest.raises(UsageError, match="is a file, not a folder"):
        write.check_output_folder(tmp_path / "site.zip", content)
    assert (tmp_path / "site.zip").read_bytes() == b"PK"


def test_an_empty_absent_or_earlier_rugzak_output_is_accepted(tmp_path: Path) -> None:
    content = _content(tmp_path)
    write.check_output_folder(tmp_path / "absent", content)
    (tmp_path / "empty").mkdir()
    write.check_output_folder(tmp_path / "empty", content)
    built = tmp_path / "built"
    write_site([OutputFile(name, data) for name, data in host_files(["index.html"])], built)
    write.check_output_folder(built, content)
    (built / ".git").mkdir()  # `git init` in the output: the next build would delete it
    with pytest.raises(UsageError, match="Git repository"):
        write.check_output_folder(built, content)


def test_ctrl_c_waits_until_the_output_is_whole_again() -> None:
    import os
    import signal

    from generator.write import interrupts_held
    steps = []
    # (Python's own Ctrl-C handler: a process started in the background ignores SIGINT)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            with interrupts_held():
                os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while files are being moved
                steps.append("the update went on")
            steps.append("not reached: the interrupt comes here")
    finally:
        signal.signal(signal.SIGINT, previous)
    assert steps == ["the update went on"]


def test_an_old_output_half_deleted_is_never_restored(tmp_path: Path) -> None:
    # a swap's old output is renamed to the trash before it is deleted: interrupted there,
    # it is only ever removed
    write_site([OutputFile("index.html", b"one")], tmp_path / "output")
    write_site([OutputFile("index.html", b"two")], tmp_path / "output")
    trash = tmp_path / ".rugzak-trash-output-abc12_yz"
    (trash / "a").mkdir(parents=True)
    (trash / "a" / "2.html").write_text("what was left of the old output")
    shutil.rmtree(tmp_path / "output")  # and the user removed the output
    write_site([OutputFile("index.html", b"three")], tmp_path / "new")
    with pytest.raises(UnsafeOutputPath):
        write_site([OutputFile("x", b"1"), OutputFile("x", b"2")], tmp_path / "output")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new"]
