"""The hub's exchange service (deploy/exchange_service.py) without a hub: its HTTP server on a free
port, real requests, a real inbound/ folder; only the hub's token check is a stand-in (a table of
tokens), the live hub tests (test_hub.py) use the hub's own.

Oracle: the archives are built here with known files; what the service must write is nbgrader's
layout, ``<student>+<assignment>+<timestamp>+<random>/`` with those files' bytes.
"""

import asyncio
import io
import os
import stat
import sys
import tarfile
import threading
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy"))

import exchange_service  # noqa: E402

from autograder.course.inbound import MB, Limits  # noqa: E402

TOKENS = {"alice-token": "alice", "bob-token": "bob", "eve-token": "eve"}
LIMITS = Limits(submission=2 * MB, quota=3 * MB, files=20)


def tar_of(files, extra=()):
    """An uncompressed tar: ``files`` {name: bytes}, then ``extra`` TarInfo members (no data)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info in extra:
            tar.addfile(info)
    return buffer.getvalue()


@pytest.fixture
def service(tmp_path):
    """The service on 127.0.0.1, over ``tmp_path/exchange/cnn-course/inbound``; yields (url, inbound)."""
    course = tmp_path / "exchange" / "cnn-course"
    (course / "outbound" / "ps1").mkdir(parents=True)
    inbound = course / "inbound"
    inbound.mkdir()

    async def identify(handler):
        header = handler.request.headers.get("Authorization", "")
        return TOKENS.get(header.removeprefix("token "))

    app = exchange_service.make_app(inbound, ["alice", "bob"], LIMITS, identify, prefix="/services/exchange/")
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder = {}

    def serve():
        asyncio.set_event_loop(loop)
        from tornado import httpserver, netutil

        (sock,) = netutil.bind_sockets(0, "127.0.0.1")
        holder["port"] = sock.getsockname()[1]
        server = httpserver.HTTPServer(app, max_body_size=LIMITS.body() + 1)
        server.add_sockets([sock])
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    started.wait(10)
    yield f"http://127.0.0.1:{holder['port']}/services/exchange/", inbound
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def submit(url, body, token="alice-token", student=None, assignment="ps1", **kwargs):
    params = {"student": student} if student else {}
    return requests.post(f"{url}submit/{assignment}", data=body, params=params, timeout=30,
                         headers={"Authorization": f"token {token}"}, **kwargs)


def folders(inbound):
    return sorted(path.name for path in inbound.iterdir())


def test_a_submission_is_written_in_nbgraders_layout(service):
    url, inbound = service
    files = {"notebook.ipynb": b'{"cells": []}', "data/w.npy": os.urandom(1000)}
    answer = submit(url, tar_of(files))
    assert answer.status_code == 200, answer.text
    received = answer.json()
    (folder,) = inbound.iterdir()
    student, assignment, timestamp, random = folder.name.split("+")
    assert (student, assignment, folder.name) == ("alice", "ps1", received["name"]) and len(random) == 12
    assert timestamp == received["timestamp"] and timestamp.endswith(" UTC")
    assert (folder / "timestamp.txt").read_text() == timestamp
    assert (folder / "submission_secret.txt").read_text() == received["secret"] and len(received["secret"]) == 128
    assert {name: (folder / name).read_bytes() for name in files} == files
    assert stat.S_IMODE((folder / "data" / "w.npy").stat().st_mode) == 0o640
    assert stat.S_IMODE(folder.stat().st_mode) == 0o2770 and stat.S_IMODE((folder / "data").stat().st_mode) == 0o2770


def test_a_submission_over_the_limit_is_refused_with_a_message(service):
    url, inbound = service
    answer = submit(url, tar_of({"big.bin": b"1" * (30 * MB)}))
    assert answer.status_code == 413 and "too big" in answer.json()["message"], answer.text
    assert "2 MB per submission" in answer.json()["message"]
    # A body of unknown length (chunked) is not read at all.
    body = tar_of({"small.bin": b"1" * 1000})
    chunked = submit(url, (body[i:i + 4096] for i in range(0, len(body), 4096)))
    assert chunked.status_code == 411 and "Content-Length" in chunked.json()["message"], chunked.text
    assert folders(inbound) == []


def test_files_over_the_limit_in_a_small_body_are_refused(service):
    """A tar whose headers claim more bytes than the limit (the check reads sizes, not the body)."""
    url, inbound = service
    info = tarfile.TarInfo("claims.bin")
    info.size = 3 * MB
    header = info.tobuf()
    answer = submit(url, header + b"\0" * 1024)
    assert answer.status_code in (400, 413) and folders(inbound) == [], answer.text


def _member(name, kind, target=""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


@pytest.mark.parametrize("member, named", [
    (_member("link", tarfile.SYMTYPE, "/etc/passwd"), "is a symbolic link"),
    (_member("inside", tarfile.SYMTYPE, "notebook.ipynb"), "is a symbolic link"),
    (_member("hard", tarfile.LNKTYPE, "notebook.ipynb"), "is a hard link"),
    (_member("fifo", tarfile.FIFOTYPE), "is a FIFO"),
    (_member("null", tarfile.CHRTYPE), "is a device"),
    (_member("disk", tarfile.BLKTYPE), "is a device"),
    (tarfile.TarInfo("../../outside.txt"), "is not a relative path"),
    (tarfile.TarInfo("data/../../outside.txt"), "is not a relative path"),
    (tarfile.TarInfo("/tmp/absolute.txt"), "is not a relative path"),
])
def test_a_crafted_archive_is_refused_and_nothing_is_written(service, member, named, tmp_path):
    url, inbound = service
    answer = submit(url, tar_of({"notebook.ipynb": b"{}"}, extra=[member]))
    assert answer.status_code == 400, answer.text
    assert named in answer.json()["message"] and repr(member.name) in answer.json()["message"]
    assert folders(inbound) == [] and not (tmp_path / "outside.txt").exists()


def test_a_compressed_or_broken_archive_is_refused(service):
    url, inbound = service
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.addfile(tarfile.TarInfo("empty.txt"))
    for body in (buffer.getvalue(), b"not a tar at all" * 100):
        answer = submit(url, body)
        assert answer.status_code == 400 and "not an uncompressed tar" in answer.json()["message"]
    assert folders(inbound) == []


def test_the_quota_holds_across_submissions(service):
    """3 MB per student: two submissions of 1.2 MB go in, the third is refused; bob keeps his own."""
    url, inbound = service
    body = tar_of({"notebook.ipynb": b"2" * 1_200_000})
    assert [submit(url, body).status_code for _ in range(2)] == [200, 200]
    refused = submit(url, body)
    assert refused.status_code == 413 and "over your quota of 3 MB" in refused.json()["message"], refused.text
    assert len(folders(inbound)) == 2
    assert submit(url, body, token="bob-token").status_code == 200
    assert sum(name.startswith("bob+") for name in folders(inbound)) == 1


def test_only_a_student_submits_and_only_as_themselves(service):
    url, inbound = service
    body = tar_of({"notebook.ipynb": b"{}"})
    forged = submit(url, body, token="alice-token", student="bob")
    assert forged.status_code == 403 and "you cannot submit as bob" in forged.json()["message"]
    assert submit(url, body, token="nobody").status_code == 403
    assert submit(url, body, token="eve-token").status_code == 403  # a hub user not on the roster
    assert submit(url, body, assignment="ps9").status_code == 404  # not released
    assert submit(url, body, assignment="..").status_code in (400, 404)
    assert folders(inbound) == []
    assert submit(url, body, token="bob-token", student="bob").status_code == 200
    assert [name.split("+")[0] for name in folders(inbound)] == ["bob"]


def _private_submit(url, tmp_path, student, token, monkeypatch):
    """nbgrader's submit of ``ps1`` from a student's folder, as the students' servers run it."""
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    from autograder.course.exchange import PrivateSubmit

    c = Config()
    c.CourseDirectory.root = str(tmp_path / "home")
    c.CourseDirectory.course_id = "cnn-course"
    c.CourseDirectory.assignment_id = "ps1"
    c.CourseDirectory.student_id = student
    c.Exchange.root = str(tmp_path / "exchange")
    c.Exchange.cache = str(tmp_path / "cache")
    c.Exchange.assignment_dir = str(tmp_path / "home")
    c.PrivateSubmit.service_url = url
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", token)
    return PrivateSubmit(coursedir=CourseDirectory(config=c), authenticator=Authenticator(config=c), config=c)


def test_nbgrader_submit_goes_through_the_service_and_keeps_its_cache(service, tmp_path, monkeypatch):
    """PrivateSubmit: the submission in inbound/ as sent, nbgrader's cache entry with the service's
    timestamp and secret (what the Assignments tab lists and fetches feedback by), refusals as errors."""
    from nbgrader.exchange import ExchangeError
    from nbgrader.exchange.default.list import ExchangeList

    url, inbound = service
    notebook = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
    for folder in (tmp_path / "home" / "ps1", inbound.parent / "outbound" / "ps1"):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "ps1.ipynb").write_bytes(notebook)
    (tmp_path / "home" / "ps1" / ".ipynb_checkpoints").mkdir()  # left out, as nbgrader does
    _private_submit(url, tmp_path, "alice", "alice-token", monkeypatch).start()
    (submission,) = inbound.iterdir()
    assert sorted(p.name for p in submission.iterdir()) == ["ps1.ipynb", "submission_secret.txt", "timestamp.txt"]
    assert (submission / "ps1.ipynb").read_bytes() == notebook
    timestamp = (submission / "timestamp.txt").read_text()
    (cache,) = (tmp_path / "cache" / "cnn-course").iterdir()
    assert cache.name == f"alice+ps1+{timestamp}" == submission.name.rsplit("+", 1)[0]
    assert (cache / "timestamp.txt").read_text() == timestamp
    assert (cache / "submission_secret.txt").read_text() == (submission / "submission_secret.txt").read_text()
    listing = _private_submit(url, tmp_path, "alice", "alice-token", monkeypatch)
    listed = ExchangeList(coursedir=listing.coursedir, authenticator=listing.authenticator, config=listing.config,
                          cached=True).start()
    assert [(a["student_id"], a["assignment_id"], a["status"], [s["timestamp"] for s in a["submissions"]])
            for a in listed] == [("alice", "ps1", "submitted", [timestamp])]

    with pytest.raises(ExchangeError) as refused:
        _private_submit(url, tmp_path, "bob", "alice-token", monkeypatch).start()
    assert " ".join(str(refused.value).split()) == ("The exchange refused the submission of ps1: "
                                                    "you are alice: you cannot submit as bob.")
    assert len(list(inbound.iterdir())) == 1


@pytest.mark.skipif(os.geteuid() != 0, reason="gives folders to other accounts: root only")
def test_collect_keeps_what_the_exchange_account_wrote_and_sets_aside_the_rest(tmp_path):
    """inbound/'s group names the exchange's account (``daemon`` here): its submissions are kept;
    one owned by another account (``bin``) than the student it names is set aside."""
    from autograder.course.exchange import _set_aside_forged

    inbound = tmp_path / "inbound"
    inbound.mkdir()
    os.chown(inbound, -1, 1)  # group daemon
    written = inbound / "alice+ps1+2026-01-01 00:00:00.000000 UTC+abc"
    forged = inbound / "bob+ps1+2026-01-01 00:00:00.000000 UTC+def"
    for folder, uid in ((written, 1), (forged, 2)):  # daemon, bin
        folder.mkdir()
        os.chown(folder, uid, uid)
    assert _set_aside_forged(inbound, "ps1") == {"bob": {"bin"}}
    assert folders(inbound) == [".set-aside+" + forged.name, written.name]
