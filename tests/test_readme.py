"""The README as a newcomer follows it: every link leads somewhere, the project's public address is
one setting, and a learner meets the course map and the student versions before any solution."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _repository():
    """The setting, read here on its own: (url, "owner/name")."""
    url = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"]
    return url, url.removeprefix("https://github.com/")


def test_binder_links_point_at_the_repository_setting():
    """Does every Binder link, the badge first, build the repository of pyproject.toml's URLs?"""
    _, slug = _repository()
    binder = re.findall(r"https://mybinder\.org/v2/gh/([^/\s)]+/[^/\s)]+)/HEAD\?urlpath=lab/tree/(\S+?)\)", README)
    assert binder, "no Binder link in the README"
    assert {owner_name for owner_name, _ in binder} == {slug}
    badge = re.search(r"\[!\[Binder\]\(https://mybinder\.org/badge_logo\.svg\)\]\(([^)]+)\)", README)
    assert badge and badge.group(1) == f"https://mybinder.org/v2/gh/{slug}/HEAD?urlpath=lab/tree/student/index.ipynb"
    assert len(re.findall(r"mybinder\.org/v2/gh/", README)) == len(binder), "a Binder link of another form"


def test_clone_command_uses_the_repository_setting():
    """Is the own-machine route's `git clone` the setting's address, followed by `cd` into its folder?"""
    url, slug = _repository()
    clones = re.findall(r"git clone (\S+)\n(cd \S+)\n", README)
    assert clones == [(f"{url}.git", f"cd {slug.split('/')[1]}")]
    assert "your-org" not in README


def test_readme_says_how_a_fork_sets_the_address():
    """Does the README name the one setting and the command that applies it?"""
    assert "`[project.urls] Repository` in `pyproject.toml`" in README
    assert "make map" in README


def test_every_relative_link_resolves():
    """Does each link into the repository name a file or folder that exists in any clone?"""
    relative = [target for target in LINK.findall(README) if not re.match(r"[a-z]+:|#", target)]
    assert relative, "no relative link found: the pattern is wrong"
    missing = [target for target in relative if not (ROOT / target.split("#")[0]).exists()]
    assert not missing, missing


def test_no_link_leads_a_learner_to_a_solution():
    """Does the README link no source notebook (solutions, hidden tests), and its first table only the
    student versions?"""
    notebooks = [target for target in LINK.findall(README) if target.endswith(".ipynb")]
    assert not [t for t in notebooks if re.search(r"(^|/)course/\d\d-", t)], notebooks
    first_table = README[:README.index("## Four ways in")]
    opened = [t for t in LINK.findall(first_table) if t.endswith(".ipynb")]
    assert len(opened) == len(list(ROOT.glob("course/[0-9][0-9]-*/*.ipynb"))) + 1   # the badge's course map
    assert all("urlpath=lab/tree/student/" in t for t in opened), opened
    assert README.index("course map") < README.index("solutions")
