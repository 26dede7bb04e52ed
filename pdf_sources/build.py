"""Build the corpus PDFs from the Markdown sources beside this file.

    python pdf_sources/build.py            # every source
    python pdf_sources/build.py NAME.md    # one source

Each `pdf_sources/NAME.md` (front matter + Markdown) becomes `corpus/NAME.pdf` with a text
layer and one outline entry per heading, and `corpus/NAME.pdf.yaml` holding the front
matter. Output is reproducible: the same source gives the same bytes (fixed dates and ids).
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path

import yaml
from fpdf import FPDF

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent / "corpus"
FIXED_DATE = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
PAGEBREAK = "<!-- pagebreak -->"

# The core PDF fonts only cover Latin-1: map the few typographic characters writers use.
_ASCII = str.maketrans({"\u2013": "-", "\u2014": "-", "\u2018": "'", "\u2019": "'",
                        "\u201c": '"', "\u201d": '"', "\u2265": ">=", "\u2264": "<=",
                        "\u2022": "-", "\u00a0": " ", "\u2026": "..."})


def split_front_matter(text: str) -> tuple[dict, str]:
    match = re.match(r"^---\s*\n(.*?)\n---\s*\n", text, re.S)
    if not match:
        raise SystemExit("source has no front matter block")
    return yaml.safe_load(match.group(1)), text[match.end():]


class _Pdf(FPDF):
    def __init__(self, footer_text: str):
        super().__init__(format="A4")
        self._footer_text = footer_text
        self.set_margins(20, 20, 20)
        self.set_auto_page_break(True, margin=22)

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("Helvetica", "I", 8)
        self.cell(0, 8, f"{self._footer_text}  -  page {self.page_no()}", align="C")


def _inline(text: str) -> str:
    """Strip Markdown emphasis and links: the PDF shows plain text."""
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text)
    text = re.sub(r"(\*\*|__|\*|_|`)(.+?)\1", r"\2", text)
    return text.translate(_ASCII)


def render(source: Path, out_dir: Path = CORPUS) -> Path:
    meta, body = split_front_matter(source.read_text(encoding="utf-8"))
    pdf = _Pdf(footer_text=f"{meta['title']} (version {meta['version']})")
    pdf.set_creation_date(FIXED_DATE)
    pdf.set_title(meta["title"])
    pdf.set_author(str(meta.get("owner", "")))
    pdf.set_creator("pdf_sources/build.py")
    pdf.set_producer("pdf_sources/build.py")
    pdf.file_id = lambda: -1  # no random file id: same source, same bytes
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            pdf.set_font("Helvetica", "", 11)
            pdf.multi_cell(width, 6, _inline(" ".join(paragraph)))
            pdf.ln(2)
            paragraph.clear()

    for raw in body.splitlines():
        line = raw.rstrip()
        heading = re.match(r"^(#{1,3})\s+(.*)$", line)
        if line.strip() == PAGEBREAK:
            flush()
            pdf.add_page()
        elif heading:
            flush()
            level, title = len(heading.group(1)), _inline(heading.group(2).strip())
            pdf.start_section(title, level=level - 1)
            pdf.set_font("Helvetica", "B", {1: 18, 2: 14, 3: 12}[level])
            pdf.multi_cell(width, 8, title)
            pdf.ln(2)
        elif re.match(r"^\s*([-*]|\d+\.)\s+", line):
            flush()
            item = re.sub(r"^\s*([-*]|\d+\.)\s+", "", line)
            marker = "-" if re.match(r"^\s*[-*]", line) else re.match(r"^\s*(\d+\.)", line).group(1)
            pdf.set_font("Helvetica", "", 11)
            pdf.set_x(pdf.l_margin + 4)
            pdf.multi_cell(width - 4, 6, f"{marker} {_inline(item)}")
            pdf.ln(1)
        elif not line.strip():
            flush()
        else:
            paragraph.append(line.strip())
    flush()

    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{source.stem}.pdf"
    pdf.output(str(target))
    sidecar = out_dir / f"{source.stem}.pdf.yaml"
    sidecar.write_text(
        "# Written by pdf_sources/build.py from pdf_sources/" + source.name + ": edit the source.\n"
        + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True),
        encoding="utf-8",
    )
    return target


def main(argv: list[str]) -> int:
    sources = [HERE / a for a in argv] if argv else sorted(HERE.glob("*.md"))
    for source in sources:
        print(f"{source.name} -> {render(source).relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
