"""Atomic writes: all or nothing, never outside the output folder."""

from pathlib import Path

import pytest

from generator.write import OutputFile, UnsafeOutputPath, write_site


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
    (tmp_path / ".rugzak-tmp-output-abc").mkdir()
    write_site([OutputFile("x.txt", b"x")], tmp_path / "output")
    assert [p.name for p in tmp_path.iterdir()] == ["output"]


def test_duplicate_paths_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UnsafeOutputPath, match="two files"):
        write_site([OutputFile("x", b"1"), OutputFile("x", b"2")], tmp_path / "out")
