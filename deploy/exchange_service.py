"""The hub's exchange service: the one way into the exchange's ``inbound/`` (run by JupyterHub).

JupyterHub starts it as the exchange's own account (``deploy/jupyterhub_config.py``,
``c.JupyterHub.services``), never as root, on 127.0.0.1 at hub.json's ``exchange_port``::

    POST {prefix}submit/<assignment>?student=<id>    body: an uncompressed tar of the submission
        Authorization: token <the student's server's $JUPYTERHUB_API_TOKEN>

It identifies the caller by that token (``HubAuth``: the token must carry the scope
``access:services!service=exchange`` that the hub grants the students' servers), so a student
submits as themselves only: a request naming another student is refused (403). A body longer
than the submission's limit (with a tar's headers) is refused (413) before it is read, one without
a Content-Length (411); within it, the archive, the
size and the student's quota are checked and the submission written by
``autograder/course/inbound.py``. Answers are JSON: ``{"name", "timestamp", "secret"}`` for a
submission written, ``{"message"}`` for a refusal.

    .venv/bin/python deploy/exchange_service.py --hub-dir /srv/cnn-course
"""

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from tornado import httpserver, ioloop, web
from tornado.log import app_log

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from autograder.course.inbound import Limits, Refused, check_name, receive  # noqa: E402

NAME = "exchange"  # the service's name on the hub: its URL is /services/exchange/


@web.stream_request_body
class SubmitHandler(web.RequestHandler):
    """``POST submit/<assignment>?student=<id>``: one submission, as a tar in the body."""

    async def prepare(self):
        self.body = bytearray()
        if self.request.method != "POST":
            return
        limits = self.settings["limits"]
        user = await self.settings["identify"](self)
        if user is None:
            raise Refused(403, "the exchange could not identify you: submit from your own server.")
        if user not in self.settings["students"]:
            raise Refused(403, f"{user} is not a student of this course.")
        claimed = self.get_query_argument("student", user)
        if claimed != user:
            raise Refused(403, f"you are {user}: you cannot submit as {claimed}.")
        self.student = check_name("student", user)
        length = self.request.headers.get("Content-Length")
        if length is None or not length.isdigit() or "Transfer-Encoding" in self.request.headers:
            raise Refused(411, "the exchange takes a submission with its length (Content-Length).")
        if int(length) > limits.body():
            raise Refused(413, f"the submission is too big: {int(length) / 1e6:.1f} MB sent, the exchange "
                               f"takes at most {limits.submission / 1e6:g} MB per submission.")

    def data_received(self, chunk):
        self.body += chunk  # at most Content-Length bytes, which prepare() bounded

    def post(self, assignment):
        received = receive(bytes(self.body), self.settings["inbound"], self.student, assignment,
                           self.settings["limits"])
        app_log.info("%s submitted %s: %s", self.student, assignment, received.name)
        self.finish({"name": received.name, "timestamp": received.timestamp, "secret": received.secret})

    def log_exception(self, kind, error, traceback):
        if isinstance(error, Refused):
            app_log.warning("refused (%s): %s", error.status, error.message)
        else:
            super().log_exception(kind, error, traceback)

    def send_error(self, status_code=500, **kwargs):
        error = kwargs.get("exc_info", (None, None))[1]
        super().send_error(error.status if isinstance(error, Refused) else status_code, **kwargs)

    def write_error(self, status_code, **kwargs):
        error = kwargs.get("exc_info", (None, None))[1]
        self.finish({"message": error.message if isinstance(error, Refused) else
                     f"the exchange failed ({status_code} {self._reason}): tell your instructor."})


def make_app(inbound, students, limits, identify, prefix="/"):
    """The service's tornado application.

    ``identify``: ``async (handler) -> user name or None``, who sent the request.
    """
    return web.Application([(prefix.rstrip("/") + r"/submit/([^/]+)", SubmitHandler)],
                           inbound=Path(inbound), students=frozenset(students), limits=limits,
                           identify=identify)


def hub_identify():
    """``identify`` by the hub: the user of the request's token, if it may use this service."""
    from jupyterhub.services.auth import HubAuth

    auth = HubAuth()

    async def identify(handler):
        token = auth.get_token(handler, in_cookie=False)
        model = await auth.user_for_token(token, sync=False) if token else None
        if not model or model.get("kind") != "user" or not auth.check_scopes(auth.access_scopes, model):
            return None
        return model["name"]

    return identify


def main(argv=None):
    parser = argparse.ArgumentParser(prog="exchange_service.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--hub-dir", type=Path, default=os.environ.get("CNN_HUB_DIR", "/srv/cnn-course"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[%(levelname)1.1s %(asctime)s exchange] %(message)s")
    settings = json.loads((args.hub_dir / "hub.json").read_text())
    limits = Limits(**settings["exchange_limits"])
    app = make_app(Path(settings["exchange"]) / "cnn-course" / "inbound", settings["students"], limits,
                   hub_identify(), prefix=os.environ.get("JUPYTERHUB_SERVICE_PREFIX", f"/services/{NAME}/"))
    server = httpserver.HTTPServer(app, max_body_size=limits.body() + 1)
    server.listen(settings["exchange_port"], "127.0.0.1")
    ioloop.IOLoop.current().start()


if __name__ == "__main__":
    main()
