"""environment.yml (conda, Binder) and constraints.txt (pip) describe the same pinned set."""

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
# Binder builds on Linux; markers are evaluated as there.
LINUX = {"platform_system": "Linux", "sys_platform": "linux"}


def _constraints():
    """{canonical name: version} from constraints.txt's ``name==version`` lines."""
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version
    return pins


def _environment():
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def _pip_section():
    """The requirement lines under ``dependencies: - pip:`` in environment.yml."""
    sections = [dep["pip"] for dep in _environment()["dependencies"] if isinstance(dep, dict)]
    assert len(sections) == 1, "environment.yml should have exactly one `pip:` section"
    return sections[0]


def _environment_pins():
    """[(Requirement, version)] for every pinned package in environment.yml's pip section."""
    pins = []
    for line in _pip_section():
        if line.startswith("-"):  # "-e ." installs the project itself
            continue
        requirement = Requirement(line)
        (spec,) = requirement.specifier
        assert spec.operator == "==", f"environment.yml: {line!r} should pin an exact version (==)"
        pins.append((requirement, spec.version))
    return pins


def _pyproject_dependencies():
    """The project's dependencies and those of its `test` extra, with the extras of its own that
    `test` names (a conda user runs the tests too)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    found = []
    for dependency in map(Requirement, project["dependencies"] + extras["test"]):
        if canonicalize_name(dependency.name) == canonicalize_name(project["name"]):  # cnn-course[hub]
            found += [Requirement(dep) for extra in dependency.extras for dep in extras[extra]]
        else:
            found.append(dependency)
    return found


def test_environment_lists_every_direct_dependency():
    """Is every dependency of pyproject.toml, the test extra's included, in environment.yml, with
    the same marker?"""
    pinned = {canonicalize_name(req.name): (req, version) for req, version in _environment_pins()}
    for dependency in _pyproject_dependencies():
        name = canonicalize_name(dependency.name)
        assert name in pinned, f"environment.yml does not list {dependency.name} (a pyproject dependency)"
        requirement, version = pinned[name]
        assert str(requirement.marker) == str(dependency.marker), (
            f"environment.yml: {dependency.name} has marker {requirement.marker}, "
            f"pyproject.toml has {dependency.marker}")
        assert version in dependency.specifier, (
            f"environment.yml pins {name}=={version}, outside pyproject's {dependency.specifier}")


def test_environment_pins_agree_with_constraints():
    """Does every version environment.yml pins for Linux equal constraints.txt's?"""
    constraints = _constraints()
    for requirement, version in _environment_pins():
        if requirement.marker is None or requirement.marker.evaluate(LINUX):
            name = canonicalize_name(requirement.name)
            assert constraints.get(name) == version, (
                f"{name}: environment.yml pins {version}, constraints.txt {constraints.get(name)}")


def test_tensorflow_is_the_same_release_on_every_platform():
    """Do the Linux (tensorflow-cpu) and other-platform (tensorflow) pins name the same version?"""
    versions = {canonicalize_name(req.name): version for req, version in _environment_pins()}
    assert versions["tensorflow"] == versions["tensorflow-cpu"]


def test_python_version_matches_the_makefile():
    """Do conda and the Makefile build on the same Python minor version?"""
    conda_python = [dep for dep in _environment()["dependencies"]
                    if isinstance(dep, str) and dep.startswith("python")]
    assert conda_python == ["python=3.11"]
    makefile_python = re.search(r"^PYTHON \?= python(\S+)$", (ROOT / "Makefile").read_text(), re.M)
    assert makefile_python and makefile_python.group(1) == "3.11"


def test_environment_installs_the_course_from_conda_forge():
    """Does the environment come from conda-forge and install the project itself?"""
    assert _environment()["channels"] == ["conda-forge"]
    assert "-e ." in _pip_section()


@pytest.mark.parametrize("name", ["keras", "ipykernel"])
def test_key_transitive_packages_are_pinned(name):
    """Are the packages whose versions change the course's behaviour pinned for Binder too?"""
    assert canonicalize_name(name) in {canonicalize_name(r.name) for r, _ in _environment_pins()}
