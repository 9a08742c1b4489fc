#!/usr/bin/env python3
"""Runs a command; prints "<wall seconds> <peak RssAnon KiB>" (RssAnon of /proc/PID/status, the
anonymous resident memory, sampled every 10 ms: mapped file pages do not count). The command's
output goes to /dev/null; a failing command fails this script."""
import subprocess
import sys
import time


def rss_anon(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main() -> None:
    start = time.perf_counter()
    process = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    while process.poll() is None:
        peak = max(peak, rss_anon(process.pid))
        time.sleep(0.01)
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"{sys.argv[1:]} exited with {process.returncode}")
    print(f"{seconds:.3f} {peak}")


if __name__ == "__main__":
    main()
