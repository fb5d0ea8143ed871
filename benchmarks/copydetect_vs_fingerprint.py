"""copydetect against the copy detector's AST fingerprint, on the pairs of tests/test_copies.py.

    .venv/bin/python -m pip install --no-deps --target /tmp/copydetect copydetect==0.5.0
    .venv/bin/python benchmarks/copydetect_vs_fingerprint.py /tmp/copydetect

copydetect (winnowed token k-grams, its defaults: noise threshold 25, guarantee threshold 30) is not
part of the course's environment: it was measured once, here, and lost (no threshold separates
independent solutions from pasted ones; its numbers also move a little from run to run, as it hashes
with Python's salted hash()). For each detector, prints the largest similarity of two
independent correct solutions, the smallest of a pasted reference to its source, and how many of
each a threshold flags.
"""
import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [sys.argv[1] if len(sys.argv) > 1 else "", str(ROOT / "tests"), str(ROOT / "tests" / "autograder" / "files")]
from copydetect.detector import CodeFingerprint, compare_files  # noqa: E402
import test_copies as tc  # noqa: E402
from independent import INDEPENDENT  # noqa: E402

from autograder.judge.fingerprint import THRESHOLD, fingerprint, similarity  # noqa: E402


def cd_print(source):
    return CodeFingerprint("x.py", 25, 6, fp=io.StringIO(source))


def cd_sim(a, b):
    _, (s1, s2), _ = compare_files(cd_print(a), cd_print(b))
    return max(s1, s2)


refs = tc.references()
pairs_ind, pairs_copy = [], []
for function, styles in INDEPENDENT.items():
    sources = list(styles) + [refs[function]]
    pairs_ind += [(sources[i], sources[j]) for i in range(len(sources)) for j in range(i + 1, len(sources))]
pairs_copy = [(source, tc.pasted(source, seed)) for seed, (function, source) in enumerate(sorted(refs.items())) if fingerprint(source)]
for name, sim, thresholds in [("AST fingerprint", lambda a, b: similarity(fingerprint(a), fingerprint(b)), [THRESHOLD]),
                              ("copydetect", cd_sim, [0.33, 0.5, 0.75])]:
    ind = [sim(a, b) for a, b in pairs_ind]
    cop = [sim(a, b) for a, b in pairs_copy]
    print(f"{name}: independent max {max(ind):.2f}, pasted min {min(cop):.2f}")
    for t in thresholds:
        print(f"  threshold {t}: independent flagged {sum(s >= t for s in ind)} of {len(ind)}, "
              f"pasted flagged {sum(s >= t for s in cop)} of {len(cop)}")
    gap = [t / 100 for t in range(1, 100) if max(ind) < t / 100 <= min(cop)]
    print("  thresholds that separate:", f"{gap[0]}..{gap[-1]}" if gap else "none")
