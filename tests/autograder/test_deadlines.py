"""Waits on a kernel end at an absolute deadline, whatever the kernel sends meanwhile.

Unit tests with stand-ins for the kernel's side; ``test_sharing.py`` grades a class with a
submission that does the same to the real grader.
"""

import socket
import threading
import time
from types import SimpleNamespace

import pytest

from autograder.judge import wire
from autograder.sandbox.deadlines import TimedExecute


class PastDeadline(Exception):
    pass


def test_a_message_that_trickles_in_cannot_hold_the_reader_past_its_deadline():
    """Is the reader's check called while a message arrives one byte every 50 ms, each read
    succeeding, so that it can stop the wait at the deadline?"""
    grader, kernel = socket.socketpair()
    data = wire.dumps({"result": list(range(200))}).encode()
    message = wire._LENGTH.pack(len(data)) + data  # about 3 s at 50 ms a byte
    stop = threading.Event()

    def trickle():
        for byte in message:
            if stop.is_set():
                return
            kernel.sendall(bytes([byte]))
            time.sleep(0.05)

    sender = threading.Thread(target=trickle)
    sender.start()
    grader.settimeout(0.2)
    deadline = time.monotonic() + 1

    def check():
        if time.monotonic() > deadline:
            raise PastDeadline

    try:
        with pytest.raises(PastDeadline):
            wire.receive_message(grader, on_timeout=check)
        assert time.monotonic() - deadline < 0.5
    finally:
        stop.set()
        sender.join()
        grader.close()
        kernel.close()


def test_a_wait_for_a_reply_ends_at_its_deadline_while_the_kernel_sends_other_messages():
    """Does waiting for the kernel's reply end at the cell's deadline (with nbclient's timeout
    handling) when the kernel keeps sending replies to other requests?"""
    executor = TimedExecute(timeout=1, notebook_timeout=60)
    executor._time_ends = None

    def other_reply(timeout):
        time.sleep(0.05)
        return {"parent_header": {"msg_id": "not the one awaited"}}

    executor.kc = SimpleNamespace(shell_channel=SimpleNamespace(get_msg=other_reply))
    handled = []

    async def handle_timeout(timeout, cell=None):
        handled.append(timeout)

    executor._async_handle_timeout = handle_timeout
    began = time.monotonic()
    assert executor.wait_for_reply("awaited") is None
    assert 1 <= time.monotonic() - began < 2 and handled == [1]


def test_a_cells_time_limit_is_cut_to_what_is_left_of_the_notebooks():
    """Is a cell given the cell limit, then what is left of the notebook's time, and at least a
    second (nbclient reads 0 as no limit at all)?"""
    executor = TimedExecute(timeout=60, notebook_timeout=600)
    executor._time_ends = time.monotonic() + 30
    assert 29 < executor._get_timeout(None) <= 30
    executor._time_ends = time.monotonic() + 3600
    assert executor._get_timeout(None) == 60
    executor._time_ends = time.monotonic() - 5
    assert executor._get_timeout(None) == 1 and executor.time_left() < 0
