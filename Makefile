# Two entry points for a fresh machine (see README.md):
#   make lab    set up .venv, generate the student notebooks and start JupyterLab on them
#   make test   set up .venv (and Chromium for the browser test) and run the whole test suite
#   make map    rewrite the course map's table (course/index.ipynb) and the README's from the notebooks
#   make hub    set up .venv and the proxy, check that the students' accounts can run .venv, create
#               the accounts of ROSTER and INSTRUCTOR and their sign-up codes (HUB_DIR/signup-codes.csv),
#               start the course's JupyterHub on http://127.0.0.1:8000 (as root, or through sudo)
# Variables:
#   LAB_ARGS    extra JupyterLab options; headless, e.g. on a remote machine or in a test:
#               make lab LAB_ARGS="--no-browser --ServerApp.ip=127.0.0.1 --IdentityProvider.token=SECRET"
#   LAB_DIR     the folder JupyterLab opens (default: the student tree); instructors, after
#               `.venv/bin/cnn-course release`, open their nbgrader course root: LAB_DIR=instructor
#   STUDENT     where the student tree is generated (default: student/)
#   PYTEST_ARGS extra pytest options, e.g. PYTEST_ARGS="-m 'not browser'"
#   ROSTER      the class roster for make hub, CSV: student id, name[, email] (default: roster.csv)
#   INSTRUCTOR  the instructor's user name on the hub (default: instructor)
#   HUB_DIR     the hub's folder (default: /srv/cnn-course)
#   HUB_ARGS    more options of deploy/setup_hub.py setup, e.g. HUB_ARGS="--ip 0.0.0.0 --authenticator pam",
#               each server's limits "--memory 4G --cpus 2", the internal ports "--hub-port 8082 --proxy-api-port 8002 --exchange-port 8004",
#               the exchange's limits per submission and per student "--submission-mb 20 --quota-mb 100"
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
STUDENT := student
LAB_DIR = $(STUDENT)
LAB_ARGS ?=
ASSIGNMENTS := $(notdir $(wildcard course/[0-9][0-9]-*))
# Assignments not yet in the student tree (evaluated when the recipe runs).
MISSING = $(filter-out $(notdir $(wildcard $(STUDENT)/*)),$(ASSIGNMENTS))
# apt-get needs root: CI runs as root, a workstation asks sudo. Jupyter refuses root unless told.
AS_ROOT := $(shell [ "$$(id -u)" = 0 ] && echo yes)
SUDO := $(if $(AS_ROOT),,sudo)

ROSTER ?= roster.csv
INSTRUCTOR ?= instructor
HUB_DIR ?= /srv/cnn-course
HUB_ARGS ?=
PROXY := node_modules/.bin/configurable-http-proxy
# JupyterLab defaults of the course (no news pop-up), installed into the environment for every user.
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.d/cnn-course.json
# A student's Jupyter settings (jupyter/README.md): the hub students' set, and the own machine's exchange.
STUDENT_CONFIG := $(CURDIR)/jupyter/student:$(CURDIR)/jupyter/own-machine

.PHONY: setup student lab map test chromium bubblewrap hub proxy
setup: $(STAMP) $(LAB_OVERRIDES)
	@command -v bwrap >/dev/null || echo "Note: bubblewrap is missing, so grading kernels will run without a sandbox. Install it with: sudo apt-get install bubblewrap (Debian/Ubuntu), or make bubblewrap."

# Re-runs in seconds: the environment is rebuilt only when the pinned set or the project metadata change.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
	touch $(STAMP)

$(LAB_OVERRIDES): jupyter/lab-overrides.json $(STAMP)
	mkdir -p $(dir $@)
	cp jupyter/lab-overrides.json $@

# The student tree: release notebooks (stubs and visible tests, never solutions or hidden tests)
# generated from course/ by nbgrader, plus the course map. Only missing assignments are generated,
# so a learner's answers are never overwritten; delete student/<assignment> for a fresh copy.
# The Lab's Validate button reads $(STUDENT)/nbgrader_config.py: written on every run, whether or
# not an assignment was generated, so that a tree made before it (or without it) gets it too.
student: $(STAMP)
	$(if $(MISSING),$(BIN)/cnn-course release --quiet --to $(STUDENT) $(MISSING))
	test -f $(STUDENT)/index.ipynb || cp course/index.ipynb $(STUDENT)/index.ipynb
	$(BIN)/python -c 'import sys; from autograder.course.validate import CONFIG_FILE; open(sys.argv[1], "w").write(CONFIG_FILE)' \
		$(STUDENT)/nbgrader_config.py
	mkdir -p .exchange  # the Assignments tab's exchange on this machine (jupyter/own-machine/), empty

# JupyterLab runs inside LAB_DIR: nbgrader's formgrader reads the nbgrader_config.py found there.
# On the student tree it opens the course map first, with a student's tools only (jupyter/student/).
STUDENT_LAB = $(filter $(STUDENT),$(LAB_DIR))
lab: $(if $(STUDENT_LAB),student,$(STAMP)) $(LAB_OVERRIDES)
	cd $(LAB_DIR) && $(if $(STUDENT_LAB),JUPYTER_CONFIG_PATH=$(STUDENT_CONFIG)$(if $(JUPYTER_CONFIG_PATH),:$(JUPYTER_CONFIG_PATH))) \
		$(CURDIR)/$(BIN)/jupyter lab $(if $(AS_ROOT),--allow-root) $(LAB_ARGS) $(if $(STUDENT_LAB),index.ipynb)

# The course map's tables, generated from the notebooks and pyproject.toml's repository address
# (tests/test_course_map.py fails while they are stale).
map:
	$(if $(wildcard $(BIN)/python),$(BIN)/python,$(PYTHON)) tools/course_map.py

# The browser test drives Debian's Chromium (Playwright's own browser download does not work everywhere).
chromium:
	command -v chromium >/dev/null || ($(SUDO) apt-get update && $(SUDO) apt-get install -y chromium)

# Grading kernels run in a bubblewrap sandbox (Linux); the grading tests need it.
bubblewrap:
	command -v bwrap >/dev/null || ($(SUDO) apt-get update && $(SUDO) apt-get install -y bubblewrap)

# JupyterHub's proxy, configurable-http-proxy, from npm at package-lock.json's version.
proxy: $(PROXY)
$(PROXY): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $(PROXY)

hub: $(STAMP) $(PROXY)
	$(SUDO) $(BIN)/python deploy/setup_hub.py setup --hub-dir $(HUB_DIR) --roster $(ROSTER) --instructor $(INSTRUCTOR) $(HUB_ARGS)
	$(SUDO) $(BIN)/python deploy/setup_hub.py start --hub-dir $(HUB_DIR)

test: $(STAMP) chromium bubblewrap proxy
	$(BIN)/python -m pytest $(PYTEST_ARGS)
