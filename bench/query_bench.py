#!/usr/bin/python3
"""Part 6: query speed on a synthetic database (bench/make_query_db.cpp):
`gridrun best` and a typical `gridrun query` (the best trial of every
(latent_size, kl_weight) grid cell by last test/loss), timed as a user runs
them (process start included), median of --reps runs.

  bench/query_bench.py --build-dir build [--trials 100000] [--steps 25] [--db cached.db]
"""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

CELL_QUERY = """
WITH last AS (
  SELECT l.trial_id, l.value FROM trial_metrics_last AS l
  JOIN trials AS t ON t.trial_id = l.trial_id
  WHERE t.experiment_id = (SELECT experiment_id FROM experiments WHERE name = 'synthetic')
    AND l.name = 'test/loss')
SELECT a.value AS latent_size, b.value AS kl_weight, last.trial_id, MIN(last.value) AS best
FROM last
JOIN trial_params AS a ON a.trial_id = last.trial_id AND a.name = 'latent_size'
JOIN trial_params AS b ON b.trial_id = last.trial_id AND b.name = 'kl_weight'
GROUP BY a.value, b.value ORDER BY best"""


def child_cpu():
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    return u.ru_utime + u.ru_stime


def timed(cmd, reps):
    """Wall and CPU seconds (user + sys) of each run: on a loaded machine the
    CPU time is the better measure of the work a query does."""
    times, cpus, out = [], [], ""
    for _ in range(reps):
        t0, c0 = time.monotonic(), child_cpu()
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        times.append(time.monotonic() - t0)
        cpus.append(child_cpu() - c0)
        if r.returncode != 0:
            sys.exit(f"{cmd[:3]} failed: {r.stderr}")
        out = r.stdout
    return times, cpus, out


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--build-dir", required=True)
    p.add_argument("--trials", type=int, default=100000)
    p.add_argument("--names", type=int, default=4)
    p.add_argument("--steps", type=int, default=25)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--db", default="", help="reuse (or create) this database file")
    a = p.parse_args()
    gridrun = os.path.join(a.build_dir, "gridrun")
    make = os.path.join(a.build_dir, "bench", "gridrun-bench-make-query-db")
    with tempfile.TemporaryDirectory(prefix="gridrun-bench-query-") as tmp:
        db = a.db or os.path.join(tmp, "q.db")
        if not os.path.exists(db):
            t0 = time.monotonic()
            subprocess.run([make, "--db", db, "--trials", str(a.trials), "--names", str(a.names),
                            "--steps", str(a.steps)], check=True)
            print(f"built {db} in {time.monotonic() - t0:.0f} s "
                  f"({os.path.getsize(db) / 1e6:.0f} MB)")
        points = a.trials * a.names * a.steps
        best_t, best_c, best_out = timed([gridrun, "best", "synthetic", "--db", db, "--metric",
                                  "test/loss"], a.reps)
        cell_t, cell_c, cell_out = timed([gridrun, "query", "--db", db, "--format", "csv",
                                          "--timeout", "300s", CELL_QUERY], a.reps)
        print(f"| query | trials | metric points | wall s (median of {a.reps}, min-max) "
              f"| CPU s (median) |")
        print("|---|---|---|---|---|")
        for name, t, c in [("gridrun best synthetic --metric test/loss", best_t, best_c),
                           ("gridrun query: best trial per (latent_size, kl_weight) cell",
                            cell_t, cell_c)]:
            print(f"| {name} | {a.trials:,} | {points:,} | {statistics.median(t):.2f} "
                  f"({min(t):.2f}-{max(t):.2f}) | {statistics.median(c):.2f} |")
        print()
        print("first rows of the cell query:\n" + "\n".join(cell_out.splitlines()[:4]))


if __name__ == "__main__":
    main()
