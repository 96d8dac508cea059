"""Page weight: what a phone on a poor connection must load."""

from pathlib import Path

from conftest import DEMO_BASE_URL


def _weight(path: Path, seen: set[Path]) -> int:
    """Bytes of a file, plus (for JS modules) every module it imports, each counted once."""
    import re
    if path in seen:
        return 0
    seen.add(path)
    size = path.stat().st_size
    if path.suffix == ".js":
        for ref in re.findall(r"""\bfrom\s*['"](\.{1,2}/[^'"]+)['"]""", path.read_text()):
            size += _weight((path.parent / ref).resolve(), seen)
    return size


def test_page_budget_40_kb(demo_site: Path) -> None:
    """HTML + CSS + JS of every page ≤ 40 KB uncompressed (images excluded; /verify/ exempt)."""
    import re
    reference = re.compile(r'<(?:link rel="stylesheet" href|script[^>]*src)="([^"]+)"')
    over = []
    for page in demo_site.rglob("*.html"):
        relative = page.relative_to(demo_site).as_posix()
        if relative.startswith(("verify/", "en/verify/")):
            continue
        html = page.read_text()
        total = len(html.encode())
        seen: set[Path] = set()
        for ref in reference.findall(html):
            target = (page.parent / ref).resolve() if not ref.startswith("http") else \
                demo_site / ref[len(DEMO_BASE_URL):]
            total += _weight(target, seen)
        if total > 40 * 1024:
            over.append((relative, total))
    assert not over, over
