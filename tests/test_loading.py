"""Loading and governance: every bad file gets its own specific reason and never stops the others."""

from __future__ import annotations

import datetime as dt

import pytest

from assistant.loading import load_corpus

TODAY = dt.date(2026, 11, 22)

FRONT = """---
id: {id}
title: A title
audience: {audience}
owner: Team
version: "1.0"
approved_by: Dr Example
approved_on: 2024-01-01
review_due: {review_due}
status: {status}
---
# A title

## Section one
Some approved text about apheresis. It has two sentences.
"""


def write(folder, name, content, **fields):
    values = {"id": name.split(".")[0], "audience": "patient", "review_due": "2028-01-01",
              "status": "approved", **fields}
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content.format(**values) if content == FRONT else content, encoding="utf-8")
    return path


def reasons(folder):
    result = load_corpus(folder, today=TODAY)
    return {r.path.split("/", 1)[1]: r.reason for r in result.rejections}, result


def test_good_markdown_is_loaded_with_sections_and_offsets(tmp_path):
    write(tmp_path, "good.md", FRONT)
    rejected, result = reasons(tmp_path)
    assert rejected == {}
    (doc,) = result.documents
    assert doc.meta.id == "good" and doc.format == "markdown"
    (block,) = doc.blocks
    assert block.section == "Section one"
    assert doc.text[block.start: block.start + len(block.text)] == block.text


@pytest.mark.parametrize(
    "name, content, fields, expected",
    [
        ("draft.md", FRONT, {"status": "draft"}, "status is draft"),
        ("gone.md", FRONT, {"status": "withdrawn"}, "status is withdrawn"),
        ("old.md", FRONT, {"review_due": "2025-01-31"}, "review_due 2025-01-31 has passed"),
        ("baddate.md", FRONT, {"review_due": "2026-13-01"}, "invalid date in review_due: '2026-13-01' (use YYYY-MM-DD)"),
        ("who.md", FRONT, {"audience": "everyone"}, "invalid audience 'everyone': use one of patient, clinician, all"),
        ("empty.md", "", {}, "empty file"),
        ("notes.docx", "hello", {}, "unsupported file type '.docx': use Markdown (.md), PDF (.pdf) or plain text (.txt)"),
        ("nometa.md", "# Just text\n\nNo front matter here.\n", {}, "missing metadata: start the file with a front matter block (--- ... ---)"),
    ],
)
def test_each_problem_has_its_exact_reason(tmp_path, name, content, fields, expected):
    write(tmp_path, "fine.md", FRONT)
    write(tmp_path, name, content, **fields)
    rejected, result = reasons(tmp_path)
    assert rejected == {name: expected}
    assert [d.meta.id for d in result.documents] == ["fine"]


def test_missing_field_is_named(tmp_path):
    (tmp_path / "x.md").write_text(FRONT.format(id="x", audience="all", review_due="2028-01-01", status="approved")
                                   .replace("approved_by: Dr Example\n", ""), encoding="utf-8")
    assert reasons(tmp_path)[0] == {"x.md": "missing field approved_by"}


def test_invalid_yaml_names_the_line(tmp_path):
    (tmp_path / "y.md").write_text("---\nid: y\ntitle: [unclosed\n---\nBody text.\n", encoding="utf-8")
    reason = reasons(tmp_path)[0]["y.md"]
    assert reason.startswith("invalid YAML in front matter at line")


def test_not_utf8_says_where(tmp_path):
    content = FRONT.format(id="latin", audience="all", review_due="2028-01-01", status="approved")
    (tmp_path / "latin.md").write_bytes(content.encode("utf-8") + "caf\xe9\n".encode("latin-1"))
    reason = reasons(tmp_path)[0]["latin.md"]
    assert reason.startswith("text is not UTF-8 (byte 0xe9 at position") and "save the file as UTF-8" in reason


def test_duplicate_id_keeps_the_first_and_names_it(tmp_path):
    write(tmp_path, "a.md", FRONT, id="same")
    write(tmp_path, "b.md", FRONT, id="same")
    rejected, result = reasons(tmp_path)
    assert rejected == {"b.md": f"duplicate id 'same': {tmp_path.name}/a.md already uses it; give each document its own id"}
    assert [d.source for d in result.documents] == [f"{tmp_path.name}/a.md"]


def test_text_file_with_sidecar_metadata(tmp_path):
    (tmp_path / "plain.txt").write_text("Plain text about vaccines.\n", encoding="utf-8")
    meta = FRONT.split("---")[1].format(id="plain", audience="all", review_due="2028-01-01", status="approved")
    (tmp_path / "plain.txt.yaml").write_text(meta, encoding="utf-8")
    rejected, result = reasons(tmp_path)
    assert rejected == {} and result.documents[0].format == "text"


def test_orphan_sidecar_is_reported(tmp_path):
    (tmp_path / "lost.pdf.yaml").write_text("id: lost\n", encoding="utf-8")
    assert reasons(tmp_path)[0] == {"lost.pdf.yaml": "metadata file without a document: lost.pdf is missing"}


# -- PDFs -------------------------------------------------------------------------------

def _pdf_meta(folder, stem):
    meta = FRONT.split("---")[1].format(id=stem, audience="clinician", review_due="2028-01-01", status="approved")
    (folder / f"{stem}.pdf.yaml").write_text(meta, encoding="utf-8")


def test_pdf_pages_and_outline_sections(starter_corpus):
    result = load_corpus(starter_corpus, today=TODAY)
    assert result.rejections == []
    pdf = next(d for d in result.documents if d.format == "pdf")
    by_section = {(b.section, b.page) for b in pdf.blocks}
    assert ("ASTCT grades", 2) in by_section
    assert ("Treatment > Timing", 3) in by_section
    for block in pdf.blocks:
        assert pdf.text[block.start: block.start + len(block.text)] == block.text
        assert "page" not in block.text.splitlines()[-1]  # running footer removed


def test_pdf_problems(tmp_path):
    from fpdf import FPDF
    from pypdf import PdfReader, PdfWriter

    (tmp_path / "corrupt.pdf").write_bytes(b"%PDF-1.4\nthis is not really a pdf\n%%EOF")
    _pdf_meta(tmp_path, "corrupt")

    blank = FPDF()
    blank.add_page()
    blank.rect(10, 10, 50, 50)  # a drawing, no text: what a scan looks like to a text extractor
    blank.output(str(tmp_path / "scan.pdf"))
    _pdf_meta(tmp_path, "scan")

    text = FPDF()
    text.add_page()
    text.set_font("Helvetica", size=12)
    text.cell(0, 10, "Secret text")
    text.output(str(tmp_path / "plain.pdf"))
    writer = PdfWriter(clone_from=PdfReader(str(tmp_path / "plain.pdf")))
    writer.encrypt(user_password="pw", owner_password="owner")
    with open(tmp_path / "locked.pdf", "wb") as handle:
        writer.write(handle)
    _pdf_meta(tmp_path, "locked")
    (tmp_path / "nosidecar.pdf").write_bytes((tmp_path / "plain.pdf").read_bytes())
    (tmp_path / "plain.pdf").unlink()

    rejected, result = reasons(tmp_path)
    assert rejected["corrupt.pdf"].startswith("cannot read PDF (damaged or not a PDF)")
    assert rejected["scan.pdf"] == "no text layer: needs OCR (the PDF holds only images)"
    assert rejected["locked.pdf"] == "PDF is encrypted: save an unencrypted copy"
    assert rejected["nosidecar.pdf"] == "missing metadata: write nosidecar.pdf.yaml beside the PDF with the required fields"
    assert result.documents == []


def test_pdf_paragraph_straight_after_a_list_is_not_its_last_item(tmp_path):
    """Plain PDF text drops indentation, so a paragraph set right under a list read as the last
    item's wrapped line (one quoted sentence: "...how to take them You still come back...").
    The page's layout tells them apart; an item's own wrapped line stays with it."""
    from fpdf import FPDF

    from assistant.chunking import split_sentences

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    width = pdf.w - pdf.l_margin - pdf.r_margin
    pdf.multi_cell(width, 6, "Before you go, make sure:")
    pdf.ln(2)
    for item in ("- you have your alert card",
                 "- you have a thermometer and a way to write down every reading you take, morning and evening, "
                 "for the whole of the first four weeks after your infusion",
                 "- you have your medicines, and know how to take them"):
        pdf.set_x(pdf.l_margin + 4)
        pdf.multi_cell(width - 4, 6, item)
        pdf.ln(1)  # back to the left margin, as pdf_sources/build.py sets a list
    pdf.multi_cell(width, 6, "You still come back to the centre every day for the first 10 days.")
    pdf.output(str(tmp_path / "guide.pdf"))
    _pdf_meta(tmp_path, "guide")

    document = load_corpus(tmp_path, today=TODAY).documents[0]
    units = [document.text[s:e] for s, e in split_sentences(document.text)]
    assert "- you have your medicines, and know how to take them" in units
    assert "You still come back to the centre every day for the first 10 days." in units
    wrapped = next(u for u in units if u.startswith("- you have a thermometer"))
    assert wrapped.endswith("after your infusion")  # its second line is still the item's
