"""The hub's logins: NativeAuthenticator, repaired for JupyterHub 6, with one-time sign-up codes.

- JupyterHub 6 dropped the handlers' ``statsd`` client; NativeAuthenticator 1.3.0 (its newest)
  still times each login with it, so every login failed with a 500. :class:`LoginHandler` gives it
  a client that records nothing.
- Only roster ids and the instructor may sign up, each with the code ``deploy/setup_hub.py``
  generated for that id (the instructor hands the students theirs): no one can claim a
  classmate's id. A sign-up is not authorized until the instructor authorizes it at
  ``/hub/authorize``; only the instructor's own sign-up (the hub's admin) is authorized at once.

Codes are kept as SHA-256 hashes in the hub's state folder (``signup_codes.json``, root 0600).
"""

import hashlib
import hmac
import json
import secrets
from pathlib import Path

from nativeauthenticator import NativeAuthenticator
from nativeauthenticator import handlers
from traitlets import Unicode

CODE_BYTES = 6  # 12 hex digits


def new_code():
    """A fresh sign-up code (12 hex digits)."""
    return secrets.token_hex(CODE_BYTES)


def hash_code(code):
    return hashlib.sha256(code.strip().lower().encode()).hexdigest()


class _NoStats:
    """What NativeAuthenticator's login handler asks of a statsd client: a timer that records nothing."""

    def timer(self, name):
        return self

    def start(self):
        return self

    def stop(self, send=True):
        return None


class LoginHandler(handlers.LoginHandler):
    statsd = _NoStats()


class SignUpHandler(handlers.SignUpHandler):
    """NativeAuthenticator's sign-up, refused unless the form's ``signup_code`` is the user name's code."""

    def get_result_message(self, user, *args):
        alert, message = super().get_result_message(user, *args)
        if alert == "alert-info":  # signed up, waiting for the instructor
            message = f"Signed up as {user.username}. You can log in once your instructor has authorized you."
        return alert, message

    async def post(self):
        username = self.authenticator.normalize_username(self.get_body_argument("username", ""))
        if not self.authenticator.code_matches(username, self.get_body_argument("signup_code", "")):
            self.log.warning("Sign-up as %r refused: wrong sign-up code", username)
            html = await self.render_template(
                "signup.html", alert="alert-danger", ask_email=False, two_factor_auth=False, tos="",
                result_message=f"This is not the sign-up code of {username!r}: type the code your "
                               "instructor gave you, under your own student id.")
            self.set_status(403)
            return self.finish(html)
        return await super().post()


class CourseAuthenticator(NativeAuthenticator):
    """NativeAuthenticator for one class: sign-up codes per roster id, the instructor authorizes."""

    signup_codes = Unicode(help="JSON file {user name: SHA-256 of their sign-up code}").tag(config=True)

    def _codes(self):
        return json.loads(Path(self.signup_codes).read_text()) if self.signup_codes else {}

    def code_matches(self, username, code):
        expected = self._codes().get(username)
        return bool(expected and code) and hmac.compare_digest(expected, hash_code(code))

    def validate_username(self, username):
        """Only the ids that have a sign-up code (the roster's and the instructor's)."""
        return username in self._codes() and super().validate_username(username)

    def get_handlers(self, app):
        replaced = {handlers.LoginHandler: LoginHandler, handlers.SignUpHandler: SignUpHandler}
        return [(pattern, replaced.get(handler, handler)) for pattern, handler in super().get_handlers(app)]
