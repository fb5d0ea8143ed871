"""A computation in the grader's process whose arguments a submission chose, within a memory bound.

A test may run the student's function with one of their other functions replaced by the reference
(``StudentFunction.with_substitutes``): the kernel then asks the grader to compute that reference
on arguments of its choosing, and ``zero_pad(x, pad=2828)`` would make the grader allocate
gigabytes. :func:`call_within` runs any such computation with the process's address space allowed
to grow by at most a given number of bytes: its soft ``RLIMIT_AS`` is lowered to the current
size plus the bound for the call, and put back after it. Past the bound, an allocation fails with
``MemoryError`` inside the reference, whatever the reference is, and the grader tells the kernel
so. The bound holds for every reference, without knowing what each computes.

Linux only (the size is read from ``/proc/self/statm``); elsewhere the call is not bounded.
"""

import resource

FLOOR = 64 * 2**20  # bytes every such call may take, for a reference's small temporaries


def address_space():
    """This process's address space in bytes, or None where it cannot be read."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return None


def call_within(limit_bytes, function, *args, **kwargs):
    """``function(*args, **kwargs)``, during which this process may grow by ``limit_bytes`` at most.

    Raises:
        MemoryError: from the allocation that would have passed the bound.
    """
    size = address_space()
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = None if size is None else size + limit_bytes
    if cap is None or (soft != resource.RLIM_INFINITY and soft <= cap):
        return function(*args, **kwargs)  # no /proc, or a tighter limit already
    resource.setrlimit(resource.RLIMIT_AS, (cap if hard == resource.RLIM_INFINITY else min(cap, hard), hard))
    try:
        return function(*args, **kwargs)
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
