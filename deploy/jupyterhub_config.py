# JupyterHub for one course, as deploy/setup_hub.py laid it out (its hub.json, in $CNN_HUB_DIR).
#
# - Every user is a Unix account; their JupyterLab is spawned as that user, from the project's
#   environment, listening on 127.0.0.1, in a cgroup of its own with hub.json's limits
#   (deploy/cgroup_spawner.py): stopping a server ends everything it started.
# - The instructor (the hub's admin) opens JupyterLab on the nbgrader course root, with the
#   formgrader and the Create Assignment tools. Students open it in their home folder with the
#   Assignments tab, Validate and fetch-feedback, without nbgrader's instructor tools.
# - Students log in with NativeAuthenticator (deploy/course_auth.py: they sign up under their
#   roster id with its one-time code; the instructor authorizes them at /hub/authorize) or with
#   their Unix password (PAM): hub.json's authenticator.
# - The hub and the proxy listen on 127.0.0.1 unless hub.json's ip says otherwise.
# - Students submit through the hub's exchange service (deploy/exchange_service.py), which alone
#   writes the exchange's inbound/, within a size limit and a quota per student.
import json
import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821 (JupyterHub's configuration loader defines it)

HUB_DIR = Path(os.environ.get("CNN_HUB_DIR", "/srv/cnn-course"))
settings = json.loads((HUB_DIR / "hub.json").read_text())
sys.path.insert(0, str(Path(__file__).resolve().parent))
from autograder.course.roster import read_roster  # noqa: E402

students = read_roster(settings["roster"])
instructor = settings["instructor"]
venv_bin = settings["venv_bin"]

# --- network: everything on the loopback interface unless the instructor chose an address
c.JupyterHub.bind_url = f"http://{settings['ip']}:{settings['port']}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = settings["hub_port"]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{settings['proxy_api_port']}"
c.ConfigurableHTTPProxy.command = [settings["proxy"]]
c.ConfigurableHTTPProxy.pid_file = str(Path(settings["state"]) / "jupyterhub-proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{Path(settings['state']) / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(Path(settings["state"]) / "jupyterhub_cookie_secret")

# --- who may log in
c.Authenticator.admin_users = {instructor}
c.JupyterHub.load_groups = {"instructors": {"users": [instructor]},
                            "students": {"users": [s.id for s in students]}}
if settings["authenticator"] == "native":
    import nativeauthenticator

    from course_auth import CourseAuthenticator

    c.JupyterHub.authenticator_class = CourseAuthenticator
    c.JupyterHub.template_paths = [str(Path(__file__).resolve().parent / "templates"),
                                   str(Path(nativeauthenticator.__file__).parent / "templates")]
    # Sign-up is limited to the ids with a code (the roster's and the instructor's); logging in
    # needs the instructor's authorization, which NativeAuthenticator checks itself. No one is
    # in allowed_users: NativeAuthenticator authorizes those at sign-up.
    c.CourseAuthenticator.signup_codes = settings["signup_codes"]
    c.CourseAuthenticator.allow_all = True
    c.CourseAuthenticator.open_signup = False
    c.CourseAuthenticator.minimum_password_length = 10
    c.CourseAuthenticator.check_common_password = True
else:
    c.JupyterHub.authenticator_class = "pam"
    c.Authenticator.allowed_users = {instructor, *(s.id for s in students)}

# --- each user's JupyterLab, as their Unix account
from cgroup_spawner import CgroupSpawner  # noqa: E402

c.JupyterHub.spawner_class = CgroupSpawner
c.CgroupSpawner.cgroup_parent = settings["cgroup_parent"]
c.Spawner.mem_limit = settings["limits"]["memory"]
c.Spawner.cpu_limit = float(settings["limits"]["cpus"])
c.CgroupSpawner.pids_limit = int(settings["limits"]["processes"])
c.Spawner.cmd = [str(Path(venv_bin) / "jupyterhub-singleuser")]
c.Spawner.ip = "127.0.0.1"
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 90


def per_user(spawner):
    """The instructor's JupyterLab opens on the course root; a student's, on their home folder,
    with the students' Jupyter settings (the exchange; no formgrader, no Create Assignment) and
    the students' cnnlib."""
    environment = {"PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin"}
    if spawner.user.name == instructor:
        spawner.notebook_dir = settings["course_root"]
        environment["CNN_COURSE_ROOT"] = settings["course_root"]
        environment["CNN_STUDENTS_LIBRARY"] = settings["library"]
    else:
        spawner.notebook_dir = "~"
        environment["JUPYTER_CONFIG_PATH"] = settings["student_config"]
        # Their kernels import the hub's cnnlib (autograder/course/students_library.py).
        environment["PYTHONPATH"] = settings["library"]
        if settings.get("data"):
            environment["CNN_COURSE_DATA"] = settings["data"]  # the data sets, found from there
    spawner.environment.update(environment)


c.Spawner.pre_spawn_hook = per_user

# --- the exchange service, the one way into the exchange's inbound/ (deploy/exchange_service.py):
# run by the hub as the exchange's own account; the students' servers' tokens may call it.
import pwd  # noqa: E402

from exchange_service import NAME as EXCHANGE_SERVICE  # noqa: E402

c.JupyterHub.services = [{
    "name": EXCHANGE_SERVICE, "url": f"http://127.0.0.1:{settings['exchange_port']}", "display": False,
    "command": [str(Path(venv_bin) / "python"), str(Path(__file__).resolve().parent / "exchange_service.py"),
                "--hub-dir", str(HUB_DIR)],
    "user": settings["exchange_user"], "cwd": pwd.getpwnam(settings["exchange_user"]).pw_dir}]
c.JupyterHub.load_roles = [{"name": "exchange-submit", "groups": ["students"],
                            "scopes": [f"access:services!service={EXCHANGE_SERVICE}"]}]
c.Spawner.server_token_scopes = ["users:activity!user", "access:servers!server",
                                 f"access:services!service={EXCHANGE_SERVICE}"]
