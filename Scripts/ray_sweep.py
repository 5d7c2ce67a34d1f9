#!/usr/bin/env python3
"""Runs a Retrace sweep's backtests as Ray tasks.

`retrace sweep ... --ray ADDRESS` writes the job list (SWEEP/logs/ray-jobs.json) and starts
this script; it can also be run by hand on a job list:

    python Scripts/ray_sweep.py --address 127.0.0.1:6379 --jobs SWEEP/logs/ray-jobs.json

Each job is one task that runs the `retrace` binary with the job's arguments on whichever
node Ray picks (the binary and the data must be at the same paths on every node, and the
run folders land on the storage the sweep's --out names). As each task finishes, one JSON
line goes to stdout: {"id", "exit", "stdout", "stderr", "wall_seconds", "node"}. The sweep
reads those lines exactly as it reads its local processes, so the results are the same.
"""
import argparse
import json
import socket
import subprocess
import sys
import time

import ray


@ray.remote(num_cpus=1, max_retries=0)
def run_backtest(binary, argv):
    started = time.monotonic()
    try:
        p = subprocess.run([binary] + argv, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        code, out, err = p.returncode, p.stdout, p.stderr
    except OSError as e:  # the binary is missing on this node
        code, out, err = 127, "", f"retrace sweep: error: cannot run {binary} on {socket.gethostname()}: {e}"
    return {"exit": code, "stdout": out, "stderr": err, "wall_seconds": time.monotonic() - started, "node": socket.gethostname()}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--address", required=True, help="the Ray cluster (head) address, e.g. 127.0.0.1:6379")
    ap.add_argument("--jobs", required=True, help="the job list retrace sweep wrote")
    ap.add_argument("--binary", help="the retrace binary on the nodes (default: the one in the job list)")
    ap.add_argument("--max-in-flight", type=int, default=0, help="tasks submitted at once (default: all)")
    args = ap.parse_args()
    with open(args.jobs) as f:
        spec = json.load(f)
    binary = args.binary or spec["binary"]
    jobs = spec["jobs"]
    ray.init(address=args.address, logging_level="ERROR", log_to_driver=False)
    queue = list(jobs)
    pending = {}
    limit = args.max_in_flight if args.max_in_flight > 0 else len(queue)

    def submit():
        while queue and len(pending) < limit:
            job = queue.pop(0)
            pending[run_backtest.remote(binary, job["argv"])] = job["id"]

    submit()
    while pending:
        done, _ = ray.wait(list(pending), num_returns=1)
        for ref in done:
            job_id = pending.pop(ref)
            try:
                result = ray.get(ref)
            except Exception as e:  # a lost worker or node: the sweep records the job as failed
                result = {"exit": 1, "stdout": "", "stderr": f"retrace sweep: error: Ray task failed: {e}", "wall_seconds": 0.0, "node": ""}
            result["id"] = job_id
            sys.stdout.write(json.dumps(result) + "\n")
            sys.stdout.flush()
        submit()
    ray.shutdown()


if __name__ == "__main__":
    main()
