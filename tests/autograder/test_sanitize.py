"""Submissions' markup made inert before anyone's browser shows it."""

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from autograder.render.sanitize import clean_html, sanitize_notebook

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


@pytest.mark.parametrize("html, gone", [
    ("<script>alert(1)</script>ok", "<script"),
    ("<img src=x onerror=alert(1)>", "onerror"),
    ("<a href='javascript:alert(1)'>x</a>", "javascript:"),
    ("<iframe src='https://example.org'></iframe>", "<iframe"),
    ("<object data='x.swf'></object>", "<object"),
    ("<form action='https://example.org'><input></form>", "<form"),
    ("<a href='data:text/html,<script>alert(1)</script>'>x</a>", "data:text/html"),
    ("<svg><script>alert(1)</script></svg>", "<script"),
    ("<div style='background:url(https://example.org/track)'>x</div>", "style="),
])
def test_live_markup_is_removed(html, gone):
    """Does each kind of live markup disappear while the text stays?"""
    cleaned = clean_html(html)
    assert gone not in cleaned


def test_plain_markup_and_inline_images_are_kept():
    """Do tables, spans, links and PNG data URLs survive, so that outputs still read right?"""
    html = (f"<table><tr><td colspan='2'>1</td></tr></table><img src='data:image/png;base64,{PNG}' alt='a'>"
            "<a href='https://example.org'>x</a>")
    cleaned = clean_html(html)
    assert "<td colspan=\"2\">1</td>" in cleaned and f"data:image/png;base64,{PNG}" in cleaned
    assert 'href="https://example.org"' in cleaned and 'alt="a"' in cleaned


@pytest.mark.parametrize("attribute", [
    'class="modal-backdrop navbar-fixed-top"', 'id="header"', 'style="position:fixed"', 'align="center"',
    'width="5000"', 'height="5000"', 'dir="rtl"', 'role="dialog"', 'data-toggle="modal"', 'hidden',
    'bgcolor="red"', 'size="7"'])
def test_no_attribute_reaches_the_pages_styles(attribute):
    """Is every attribute that a style sheet could select on, or that draws by itself, dropped from
    every tag (a Bootstrap class would draw a fixed layer over the instructor's page)?"""
    for tag in ("div", "table", "td", "img", "a", "p", "span", "hr", "bdo", "ol"):
        cleaned = clean_html(f"<{tag} {attribute}>Score 100%</{tag}>")
        assert attribute.split("=")[0] + "=" not in cleaned and f" {attribute}" not in cleaned, cleaned


def test_a_notebook_keeps_text_images_and_plain_html_only():
    """Are JavaScript, SVG and widget outputs replaced, markdown rendered clean, metadata cut?"""
    code = new_code_cell("x", outputs=[
        new_output("display_data", data={"application/javascript": "alert(1)"}),
        new_output("display_data", data={"image/svg+xml": "<svg onload=alert(1)/>", "image/png": PNG}),
        new_output("execute_result", data={"text/html": "<b onclick=alert(1)>bold</b>", "text/plain": "b"},
                   execution_count=1)])
    markdown = new_markdown_cell("**Hi** <img src=x onerror=alert(1)> [x](javascript:alert(1)) $a<b$",
                                 metadata={"nbgrader": {"grade_id": "m"}, "evil": "<script>"})
    markdown.attachments = {"a.svg": {"image/svg+xml": "<svg onload=alert(1)/>"}, "b.png": {"image/png": PNG}}
    nb = new_notebook(cells=[markdown, code], metadata={"widgets": {"state": {}}, "title": "<script>"})
    text = nbformat.writes(sanitize_notebook(nb))
    for live in ("alert(1)\"", "onerror", "onclick", "javascript:", "image/svg+xml", "widgets", "evil"):
        assert live not in text, live
    assert "<strong>Hi</strong>" in nb.cells[0].source and nb.cells[0].metadata == {"nbgrader": {"grade_id": "m"}}
    assert list(nb.cells[0].attachments) == ["a.svg", "b.png"] and nb.cells[0].attachments["a.svg"] == {}
    outputs = nb.cells[1].outputs
    assert "left out" in outputs[0].data["text/plain"]
    assert outputs[1].data == {"image/png": PNG}
    assert outputs[2].data["text/html"] == "<b>bold</b>"
