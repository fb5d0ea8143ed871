"""The class report: ``cnn-course report [ASSIGNMENT...]``, one HTML page an instructor reads at a glance.

For each assignment: the histogram of scores, the pass rate of each test, the classic mistakes the
failed tests named (with how many students made each), the grading time per submission, the failed
and missing submissions, and the possible copies. Plots are PNG images inside the page, which
needs nothing else to open; each has alt text that says what it shows, with its numbers where
they are few, for a reader who cannot see it.
"""

import base64
import html
import io
from collections import Counter
from pathlib import Path

import nbformat

from autograder.course import copies, timings
from autograder.course.reports import FAILED, MISSING, grade_table
from autograder.mistakes import named_in
from autograder.render import notes

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 2px solid #ccc; margin-top: 2em; }
.row { display: flex; flex-wrap: wrap; gap: 2em; } .row > div { flex: 1 1 28em; }
table { border-collapse: collapse; } td, th { padding: 0.2em 0.8em; border-bottom: 1px solid #ddd; text-align: left; }
td.n { text-align: right; } .none { color: #666; }
"""

SHORT = 12  # a bar chart of up to this many tests lists every rate in its alt text, else the lowest


def write_report(course, path=None, assignments=None):
    """Write the report; returns its path (default ``<course root>/report.html``)."""
    import matplotlib

    matplotlib.use("Agg")
    students, tables = grade_table(course, assignments)
    sections = [_section(course, table, students) for table in tables]
    page = (f"<!doctype html><html lang='en'><meta charset='utf-8'><title>Class report</title>"
            f"<style>{STYLE}</style><h1>Class report: {len(students)} students</h1>{''.join(sections)}</html>")
    path = Path(path) if path else course.root / "report.html"
    path.write_text(page)
    return path


def _section(course, table, students):
    results = table.results
    scores = [r.score for r in results.values() if r.score is not None]
    graded = [s for s, r in results.items() if r.score is not None and r.status not in (MISSING, FAILED)]
    passing = [(gid, sum(results[s].cells.get(gid, 0) >= most for s in graded) / len(graded) if graded else 0.0)
               for gid, most in table.cells]
    seconds = timings.read(course.root, table.name)
    found = Counter(m for s in graded for m in set(_mistakes(course, table.name, s)))
    flagged = copies.read_flags(course.root, table.name)
    trouble = [(s, r.status, "; ".join(notes.read(course.root, table.name, s)))
               for s, r in sorted(results.items()) if r.status in (MISSING, FAILED)]
    return (f"<h2>{html.escape(table.name)}</h2><div class='row'>"
            f"<div><h3>Scores (out of {table.max_score:g})</h3>"
            f"{_histogram(scores, 'score', f'scores out of {table.max_score:g}', table.max_score)}</div>"
            f"<div><h3>Pass rate of each test</h3>{_bars(passing)}</div></div>"
            f"<div class='row'><div><h3>Classic mistakes made</h3>"
            f"{_table(['mistake', 'students'], found.most_common())}</div>"
            f"<div><h3>Grading time per submission</h3>{_histogram(list(seconds.values()), 'seconds', 'grading times in seconds')}"
            f"{_median(seconds)}</div></div>"
            f"<div class='row'><div><h3>Failed and missing submissions</h3>"
            f"{_table(['student', 'status', 'notes'], trouble)}</div>"
            f"<div><h3>Possible copies (needs manual review; scores unchanged)</h3>"
            f"{_table(['student', 'flag'], [(s, copies.describe(f)) for s, fs in sorted(flagged.items()) for f in fs])}"
            "</div></div>")


def _mistakes(course, assignment, student):
    found = []
    for path in sorted(course.step_dir("autograded", student, assignment).glob("*.ipynb")):
        for cell in nbformat.read(path, 4).cells:
            found += [m for o in cell.get("outputs", []) if o.get("output_type") == "error"
                      for m in named_in(o.get("evalue", ""))]
    return found


def _figure(draw, alt, height=3.0):
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, height), dpi=90)
    draw(axes)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return (f"<img alt='{html.escape(alt, quote=True)}' "
            f"src='data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}'>")


def _histogram(values, label, what, most=None):
    """A histogram of ``values`` (x axis ``label``); its alt text names ``what`` it counts."""
    if not values:
        return "<p class='none'>None yet.</p>"

    from matplotlib.ticker import MaxNLocator

    def draw(axes):
        axes.hist(values, bins=min(20, max(5, len(set(values)))), range=(0, most) if most else None,
                  color="#4477aa", edgecolor="white")
        axes.set_xlabel(label)
        axes.set_ylabel("submissions")
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    ordered = sorted(values)
    alt = (f"Histogram of {len(values)} {what}: lowest {_number(ordered[0])}, median "
           f"{_number(ordered[len(ordered) // 2])}, highest {_number(ordered[-1])}.")
    return _figure(draw, alt)


def _bars(rates):
    if not rates:
        return "<p class='none'>No tests.</p>"

    def draw(axes):
        names = [gid for gid, _ in rates][::-1]
        axes.barh(names, [rate * 100 for _, rate in rates][::-1], color="#228833")
        axes.set_xlim(0, 100)
        axes.set_xlabel("% of graded submissions with full points")
        axes.tick_params(axis="y", labelsize=7)
    shown = rates if len(rates) <= SHORT else sorted(rates, key=lambda pair: pair[1])[:SHORT]
    listed = ", ".join(f"{gid} {rate:.0%}" for gid, rate in shown)
    alt = (f"Bar chart of the share of graded submissions with full points on each of {len(rates)} tests: "
           + (listed if len(rates) <= SHORT else f"the {SHORT} lowest are {listed}") + ".")
    return _figure(draw, alt, height=max(2.5, 0.22 * len(rates)))


def _number(value):
    return f"{value:.1f}" if isinstance(value, float) and not float(value).is_integer() else f"{value:g}"


def _median(seconds):
    if not seconds:
        return ""
    ordered = sorted(seconds.values())
    return (f"<p>Median {ordered[len(ordered) // 2]:.1f} s, slowest {ordered[-1]:.1f} s "
            f"({len(ordered)} submissions).</p>")


def _table(header, rows):
    if not rows:
        return "<p class='none'>None.</p>"
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td class='{'n' if isinstance(v, (int, float)) else ''}'>"
                                    f"{html.escape(str(v))}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"
