"""Maths in the pages the grader writes from notebooks, rendered without the internet.

nbconvert's pages load MathJax from a CDN. :func:`offline` swaps that for the MathJax that the
course's environment ships (the ``jupyter-server-mathjax`` package, pinned in ``constraints.txt``):

- a page that a Jupyter server serves (the student's JupyterLab, the Formgrader's, a hub's, at
  ``<base url>files/<path>``) loads it from that server, which serves the package at
  ``<base url>static/jupyter_server_mathjax/``;
- a page opened from disk (``file://``) loads the copy installed where the page was written.
"""

import json
import re
from pathlib import Path

import jupyter_server_mathjax

STATIC = Path(jupyter_server_mathjax.__file__).resolve().parent / "static"
CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"  # the configuration the package ships
_CDN_SCRIPT = re.compile(r'<script[^>]*\bsrc="https?://[^"]*mathjax[^"]*"[^>]*>\s*</script>', re.IGNORECASE)

LOADER = """<script>
(function () {{  // MathJax from the course's environment, never from the internet (autograder.render.mathjax)
    var path = window.location.pathname, served = path.indexOf("/files/");
    var src = window.location.protocol !== "file:" && served >= 0
        ? path.slice(0, served + 1) + "static/jupyter_server_mathjax/MathJax.js" : {local};
    document.write('<script src="' + src + '?config={config}"><\\/script>');
}})();
</script>"""


def loader():
    """The script that loads MathJax from the serving Jupyter server or from the installed copy."""
    return LOADER.format(local=json.dumps((STATIC / "MathJax.js").as_uri()), config=CONFIG)


def offline(page):
    """``page`` (HTML text) with its CDN MathJax script replaced by :func:`loader`'s; a page
    without one is returned as it was."""
    return _CDN_SCRIPT.sub(lambda _: loader(), page, count=1)
