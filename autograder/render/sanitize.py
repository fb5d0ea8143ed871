"""Nothing a submission wrote stays live: notebooks made safe to show an instructor or a student.

An autograded notebook is shown by the Formgrader (from the instructor's own Jupyter server, with
its origin and token) and turned into the student's feedback page. Everything in it but the
released locked cells came from the submission: outputs, markdown, attachments and metadata. So
before it is stored, :func:`sanitize_notebook` keeps only what can be shown without running:

- outputs: text, PNG/JPEG/GIF images, and HTML cleaned by nh3 (no script, event handler, iframe,
  form, object, style, or ``javascript:``/``data:`` URL but an image's); JavaScript, SVG, widget
  views and other types are left out with a line that says so;
- no attribute that can reach the page's styles: ``class``, ``id``, ``style``, presentational
  hints (``align``, ``width``, ``dir``, ...) and ``data-*``/``role`` all go, so that markup from a
  submission cannot take on the page's own CSS (a Bootstrap ``modal-backdrop`` drawn over the
  Formgrader). Only links, image sources and texts, table spans and list starts stay;
- markdown cells: rendered to HTML by nbconvert's own renderer and cleaned the same way (math is
  kept for MathJax); attachments: images only;
- metadata: the kernel and language information of the notebook, nbgrader's and tags of cells.
"""

import re

import nh3
from nbconvert.filters.markdown import markdown2html_mistune

IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif")
KEPT_TYPES = ("text/plain", "text/html", *IMAGE_TYPES)
DATA_IMAGE = re.compile(r"^data:image/(png|jpeg|gif);base64,[A-Za-z0-9+/=\s]*$")
TAGS = nh3.ALLOWED_TAGS - {"map", "area"}
# The only attributes kept, none of which a style sheet of the pages selects on or draws with.
ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "abbr": {"title"},
              "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}, "ol": {"start"}}
KEPT_CELL_METADATA = ("nbgrader", "tags")
KEPT_NOTEBOOK_METADATA = ("kernelspec", "language_info")


def clean_html(html):
    """``html`` with only inert markup left (see the module docstring)."""
    return nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES,
                     url_schemes={"http", "https", "mailto", "data", "attachment"},
                     attribute_filter=_keep_attribute, link_rel="noopener noreferrer nofollow")


def _keep_attribute(element, attribute, value):
    if attribute in ("href", "src", "cite") and value.strip().lower().startswith("data:"):
        return value if element == "img" and attribute == "src" and DATA_IMAGE.match(value.strip()) else None
    if attribute == "href" and value.strip().lower().startswith("attachment:"):
        return None
    return value


def clean_markdown(text):
    """A markdown cell's text as cleaned HTML (markdown allows HTML, so it still renders)."""
    return clean_html(markdown2html_mistune(text))


def sanitize_notebook(nb):
    """Make ``nb`` (an nbformat notebook) inert, in place; returns it."""
    nb.metadata = {k: v for k, v in nb.metadata.items() if k in KEPT_NOTEBOOK_METADATA}
    for cell in nb.cells:
        cell.metadata = {k: v for k, v in cell.metadata.items() if k in KEPT_CELL_METADATA}
        if "attachments" in cell:
            cell.attachments = {name: {m: d for m, d in bundle.items() if m in IMAGE_TYPES}
                                for name, bundle in cell.attachments.items() if isinstance(bundle, dict)}
        if cell.cell_type == "markdown":
            cell.source = clean_markdown(cell.source)
        elif cell.cell_type == "raw":
            cell.source = clean_html(cell.source)
        elif cell.cell_type == "code":
            for output in cell.get("outputs", []):
                _sanitize_output(output)
    return nb


def _sanitize_output(output):
    if output.output_type not in ("display_data", "execute_result"):
        return
    data = output.get("data", {})
    dropped = sorted(mime for mime in data if mime not in KEPT_TYPES)
    kept = {mime: value for mime, value in data.items() if mime in KEPT_TYPES}
    if "text/html" in kept:
        kept["text/html"] = clean_html("".join(kept["text/html"]) if isinstance(kept["text/html"], list)
                                       else kept["text/html"])
    if dropped and not set(kept) - {"text/plain"}:
        note = f"[output of type {', '.join(dropped)} left out: feedback shows text, images and plain HTML]"
        kept["text/plain"] = note if "text/plain" not in kept else kept["text/plain"]
    output.data = kept
    output.metadata = {}
