#!/usr/bin/env python3
"""Keystroke-to-echo latency through a real PTY (used by bench/keylatency.sh).

    keylatency.py [--dashboard] [--keys N] [--size 200x50] -- COMMAND...

Runs COMMAND on a new pseudo-terminal of the given size and reads everything it draws.
With --dashboard, COMMAND is a berth dashboard: it waits for the list, presses `e` (a shell
in the terminal pane on the selected container) and waits for the prompt; otherwise
COMMAND is a shell (`docker exec -it ... sh`) and only the prompt is awaited. Then it types
N characters, one at a time, each from a set that appears nowhere else on screen, and
times the moment each one shows up in the output (escape sequences stripped) after the
write. The line is cleared (ctrl-u) every 40 keys. Prints p50, p95 and max in ms.
"""
import argparse
import fcntl
import os
import pty
import re
import select
import signal
import statistics
import struct
import sys
import termios
import time

ESC = re.compile(rb"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-Za-z]|[=>78MDEc])")
# Characters that never occur in escape sequences' final bytes crossterm writes, nor in
# the dashboard's changing numbers.
KEYS = b"qzjQZJ"


def read_for(fd, secs, until=None):
    """Read for up to `secs`; stop early once until(accumulated text) is true."""
    buf = b""
    end = time.monotonic() + secs
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return buf
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            return buf
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            return buf
        if not chunk:
            return buf
        buf += chunk
        if until and until(ESC.sub(b"", buf)):
            return buf


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dashboard", action="store_true")
    ap.add_argument("--keys", type=int, default=200)
    ap.add_argument("--size", default="200x50")
    ap.add_argument("--ready", default="lat", help="text the dashboard shows once its list is in")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    cols, rows = (int(x) for x in a.size.split("x"))

    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "xterm-256color"
        os.execvp(cmd[0], cmd)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    try:
        if a.dashboard:
            out = read_for(fd, 15, lambda t: a.ready.encode() in t)
            if a.ready.encode() not in ESC.sub(b"", out):
                sys.exit("the dashboard did not show the container")
            time.sleep(0.5)
            os.write(fd, b"e")
            # The pane's title; cells are diffed, so the prompt's trailing blank is not
            # written: look for "#" after the title.
            want = b"shell"
        else:
            want = b"# "
        out = read_for(fd, 15, lambda t: want in t and b"#" in t.split(want, 1)[1])
        if want not in ESC.sub(b"", out):
            sys.exit("no shell prompt")
        read_for(fd, 1.0)  # let the first frames settle
        lat = []
        for i in range(a.keys):
            if i and i % 40 == 0:
                os.write(fd, b"\x15")
                read_for(fd, 0.3)
            k = KEYS[i % len(KEYS) : i % len(KEYS) + 1]
            t0 = time.perf_counter()
            os.write(fd, k)
            out = read_for(fd, 5, lambda t: k in t)
            t1 = time.perf_counter()
            if k not in ESC.sub(b"", out):
                sys.exit(f"key {i}: no echo within 5 s")
            lat.append((t1 - t0) * 1000)
            # Whatever else arrives (the rest of a frame) is drained between keys.
            read_for(fd, 0.02)
        lat.sort()
        p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
        print(f"n={len(lat)} p50={statistics.median(lat):.2f}ms p95={p(0.95):.2f}ms max={lat[-1]:.2f}ms")
    finally:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            read_for(fd, 0.5)
            os.waitpid(pid, 0)
        except OSError:
            pass


if __name__ == "__main__":
    main()
