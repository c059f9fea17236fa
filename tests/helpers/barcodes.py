"""What a scanner reads off a PDF: its pages rendered by pdftoppm (poppler-utils) and read by zbarimg
(zbar-tools), both installed by `make test`. Without them the tests that read barcodes fail and say so,
rather than pass unread."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

TOOLS = ("pdftoppm", "zbarimg")


def _rendered(pdf: bytes, folder: Path, *, resolution: int, odd_pages_only: bool) -> list[Path]:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    assert not missing, f"{' and '.join(missing)} not found: `make test` installs poppler-utils and zbar-tools"
    folder = Path(tempfile.mkdtemp(dir=folder, prefix="scan-"))  # each scan its own pages
    (folder / "scanned.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", *(["-o"] if odd_pages_only else []), "-r", str(resolution), "-gray", "-png",
                    str(folder / "scanned.pdf"), str(folder / "page")], check=True)
    return sorted(folder.glob("page-*.png"), key=lambda path: int(path.stem.rsplit("-", 1)[1]))


def barcodes_by_page(pdf: bytes, folder: Path, *, resolution: int = 300) -> list[list[str]]:
    """The codes of every barcode on each page (a code may hold spaces), sorted within the page."""
    return [sorted(subprocess.run(["zbarimg", "-q", "--raw", str(page)], capture_output=True, text=True)
                   .stdout.splitlines()) for page in _rendered(pdf, folder, resolution=resolution, odd_pages_only=False)]


def barcodes_in_order(pdf: bytes, folder: Path, *, resolution: int = 300, odd_pages_only: bool = False) -> list[str]:
    """The codes of the pages' barcodes in page order, read by one zbarimg run (the cheap way for many pages
    of one barcode each)."""
    pages = _rendered(pdf, folder, resolution=resolution, odd_pages_only=odd_pages_only)
    return subprocess.run(["zbarimg", "-q", "--raw", *map(str, pages)], capture_output=True,
                          text=True).stdout.splitlines()
