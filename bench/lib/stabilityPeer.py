"""The peer of bench/stability.ts: per-group calibration and NE with numpy and scikit-learn.

    python3 stabilityPeer.py FILE [--check 0,17,1234] [--repeat N] [--skip-sklearn]

FILE holds one columnar data set as bench/stability.ts writes it (little-endian):
    8 bytes  magic b"MFSTAB01"
    uint64   n, the number of events
    uint32   groups, group ids run from 0 to groups - 1
    uint32   reserved (0)
    float64  p[n]   predicted probabilities
    uint8    y[n]   labels, 0 or 1
    padding to a multiple of 4 bytes
    int32    g[n]   group id of each event

It computes, per group, what modelfleet's Accumulator computes (count, positives, sum of p,
mean log loss, calibration = sum(p) / sum(y), NE = mean log loss / entropy of the positive
rate) in two ways, each timed on its own (loading the file is timed apart):

- "sklearn": the loop users write: for each group, a boolean mask, then
  sklearn.metrics.log_loss(y[m], p[m]) and p[m].sum() / y[m].sum().
  log_loss clips p to [eps, 1 - eps]; from scikit-learn 1.2 on eps defaults to the float64
  machine epsilon (2.2e-16) and it is later removed altogether, whereas modelfleet clamps to
  [1e-15, 1 - 1e-15]. The call is left as users write it (no eps), so the two agree only up
  to the events with p below 1e-15 or above 1 - 1e-15 (none in the benchmark's data) and to
  log(1 - p) against log1p(-p): about 1e-12 relative.
- "numpy": the vectorized version: one log loss per event with modelfleet's clamp, then
  np.bincount(g, weights=...) for each per-group sum.

The numpy version runs --repeat times (default 3) and reports the median, as its first run also
pays for the operating system handing it fresh pages for its temporaries; the scikit-learn loop runs
once (it repeats the same small steps thousands of times already).

It prints one JSON object: versions, timings, a checksum of each method's results (the sum over
groups of NE and of calibration, where defined) and the metrics of the groups named by --check,
so the caller can compare them with its own.
"""

import json
import sys
import time

import numpy as np

EPSILON = 1e-15
HEADER_BYTES = 24


def load(path):
    with open(path, "rb") as f:
        header = f.read(HEADER_BYTES)
        if header[:8] != b"MFSTAB01":
            raise SystemExit(f"{path}: not a stability benchmark file (bad magic {header[:8]!r})")
        n = int.from_bytes(header[8:16], "little")
        groups = int.from_bytes(header[16:20], "little")
        p = np.fromfile(f, dtype="<f8", count=n)
        y = np.fromfile(f, dtype="u1", count=n)
        pad = (-(HEADER_BYTES + 9 * n)) % 4
        f.read(pad)
        g = np.fromfile(f, dtype="<i4", count=n)
    if len(p) != n or len(y) != n or len(g) != n:
        raise SystemExit(f"{path}: truncated (expected {n} events)")
    return p, y, g, groups


def entropy(ctr):
    return -(ctr * np.log(ctr) + (1 - ctr) * np.log1p(-ctr))


def metrics_row(count, positives, sum_p, log_loss_mean):
    """Same definitions as src/stability/metrics.ts (unit weights): None where undefined."""
    row = {"count": int(count), "positives": float(positives), "weightedP": float(sum_p), "logLoss": float(log_loss_mean)}
    ctr = positives / count if count > 0 else None
    degenerate = ctr is None or not (0 < positives < count)
    row["calibration"] = None if degenerate else float(sum_p / positives)
    row["ne"] = None if degenerate else float(log_loss_mean / entropy(ctr))
    return row


def by_sklearn(p, y, g, groups):
    from sklearn.metrics import log_loss

    rows = {}
    for group in range(groups):
        mask = g == group
        yg = y[mask]
        pg = p[mask]
        if len(yg) == 0:
            continue
        # labels= keeps log_loss working on a group with a single class, as careful users write it.
        loss = log_loss(yg, pg, labels=[0, 1])
        rows[group] = metrics_row(len(yg), yg.sum(dtype=np.float64), pg.sum(), loss)
    return rows


def by_numpy(p, y, g, groups):
    pc = np.clip(p, EPSILON, 1 - EPSILON)
    yf = y.astype(np.float64)
    loss = -(yf * np.log(pc) + (1 - yf) * np.log1p(-pc))
    count = np.bincount(g, minlength=groups)
    positives = np.bincount(g, weights=yf, minlength=groups)
    sum_p = np.bincount(g, weights=p, minlength=groups)
    sum_loss = np.bincount(g, weights=loss, minlength=groups)
    rows = {}
    for group in np.nonzero(count)[0]:
        c = count[group]
        rows[int(group)] = metrics_row(c, positives[group], sum_p[group], sum_loss[group] / c)
    return rows


def checksum(rows):
    ne = sum(r["ne"] for r in rows.values() if r["ne"] is not None)
    calibration = sum(r["calibration"] for r in rows.values() if r["calibration"] is not None)
    return {"ne": ne, "calibration": calibration, "groups": len(rows)}


def timed(method, repeat, *args):
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        rows = method(*args)
        seconds.append(time.perf_counter() - started)
    return rows, sorted(seconds)[len(seconds) // 2], seconds


def main(argv):
    if not argv or argv[0].startswith("-"):
        raise SystemExit(__doc__)
    path = argv[0]
    check = []
    repeat = 3
    skip_sklearn = "--skip-sklearn" in argv
    if "--repeat" in argv:
        repeat = max(1, int(argv[argv.index("--repeat") + 1]))
    if "--check" in argv:
        check = [int(x) for x in argv[argv.index("--check") + 1].split(",") if x]

    started = time.perf_counter()
    p, y, g, groups = load(path)
    load_seconds = time.perf_counter() - started
    n = len(p)

    out = {"python": sys.version.split()[0], "numpy": np.__version__, "events": n, "groups": groups, "loadSeconds": load_seconds}
    methods = [("numpy", by_numpy, repeat)]
    if not skip_sklearn:
        import sklearn

        out["sklearn"] = sklearn.__version__
        methods.append(("sklearn", by_sklearn, 1))
    out["methods"] = {}
    for name, method, runs in methods:
        rows, seconds, all_seconds = timed(method, runs, p, y, g, groups)
        out["methods"][name] = {
            "seconds": seconds,
            "runs": all_seconds,
            "eventsPerSecond": n / seconds,
            "checksum": checksum(rows),
            "sample": {str(k): rows.get(k) for k in check},
        }
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
