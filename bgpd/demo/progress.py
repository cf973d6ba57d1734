"""What the demo prints: a list of steps with their times, the operator's
views, and one PASS/FAIL line per scenario.

How it works
------------
``Progress.step(text)`` is a context manager around one piece of work.  On
a terminal the step shows at once as ``  ⋯ text`` and a small thread keeps
its elapsed time ticking on that line; when the step ends the line is
rewritten in place as ``  ✓ text  0.42 s`` (or ``  ✗ text: why``).
Anywhere else (a pipe, a log file, a test) nothing is rewritten: each step
prints one plain line when it ends, ``  ok    text  0.42 s`` or ``  FAIL
text: why``, so that the output reads the same in a CI log.

Everything else (``heading``, ``note``, ``command``, ``result``) prints
whole lines; on a terminal a step's open line is finished first, so the
two never mix.  One lock serialises the ticking thread and the writers.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time

TICK = 0.1

# (terminal mark, plain mark) per outcome
MARKS = {"run": ("⋯", ""), "ok": ("✓", "ok  "), "fail": ("✗", "FAIL"), "skip": ("-", "skip")}
COLOURS = {"ok": "32", "fail": "31", "skip": "33", "dim": "2", "bold": "1", "head": "1;36"}


class Progress:
    def __init__(self, stream=None, tty: bool | None = None):
        self.out = stream or sys.stdout
        self.tty = self.out.isatty() if tty is None else tty
        self._lock = threading.Lock()
        self._open: tuple[str, float] | None = None     # the running step's text and start
        self._ticker: threading.Thread | None = None
        self._stop = threading.Event()

    # -- plain output -----------------------------------------------------------------
    def _paint(self, text: str, colour: str) -> str:
        return f"\033[{COLOURS[colour]}m{text}\033[0m" if self.tty else text

    def _write(self, text: str) -> None:
        with self._lock:
            if self._open is not None and self.tty:
                # A line printed during a step goes above the step's line,
                # which stays the last one (a status line).
                self.out.write("\r\033[K" + text + self._status())
            else:
                self.out.write(text)
            self.out.flush()

    def _status(self) -> str:
        text, start = self._open
        return f"  {MARKS['run'][0]} {text}  " + self._paint(
            f"{time.monotonic() - start:.1f} s", "dim")

    def line(self, text: str = "") -> None:
        self._write(text + "\n")

    def heading(self, text: str) -> None:
        self.line()
        self.line(self._paint(text, "head"))

    def note(self, text: str) -> None:
        for ln in text.splitlines() or [""]:
            self.line(f"  {ln}")

    def command(self, cmd: str, output: str) -> None:
        """An operator's command and what it prints."""
        self.line(f"  {self._paint('$ ' + cmd, 'bold')}")
        for ln in output.rstrip("\n").splitlines():
            self.line("    " + self._paint(ln, "dim") if self.tty else "    " + ln)

    def result(self, ok: bool, name: str, detail: str) -> None:
        word = self._paint("PASS" if ok else "FAIL", "ok" if ok else "fail")
        self.line(f"{word}  {name}: {detail}")

    # -- steps ------------------------------------------------------------------------
    @contextlib.contextmanager
    def step(self, text: str):
        """Time the body; print its outcome.  An exception ends the step as
        failed and goes on up."""
        start = time.monotonic()
        self._begin(text, start)
        try:
            yield
        except BaseException as e:
            self._end("fail", text, time.monotonic() - start, _reason(e))
            raise
        self._end("ok", text, time.monotonic() - start)

    def _begin(self, text: str, start: float) -> None:
        if not self.tty:
            return
        with self._lock:
            self._open = (text, start)
            self.out.write(f"  {MARKS['run'][0]} {text}")
            self.out.flush()
        self._stop.clear()
        self._ticker = threading.Thread(target=self._tick, daemon=True)
        self._ticker.start()

    def _tick(self) -> None:
        while not self._stop.wait(TICK):
            with self._lock:
                if self._open is None:
                    return
                self.out.write("\r\033[K" + self._status())
                self.out.flush()

    def _end(self, outcome: str, text: str, seconds: float, why: str = "") -> None:
        if self._ticker is not None:
            self._stop.set()
            self._ticker.join()
            self._ticker = None
        mark = MARKS[outcome][0 if self.tty else 1]
        tail = f"  {seconds:.2f} s" + (f": {why}" if why else "")
        with self._lock:
            if self.tty:
                self.out.write("\r\033[K")
                mark = self._paint(mark, outcome)
            self._open = None
            self.out.write(f"  {mark} {text}{tail}\n")
            self.out.flush()

    def summary(self, results) -> None:
        """The table at the end: one row per scenario."""
        self.heading("Summary")
        width = max((len(r.name) for r in results), default=0)
        for r in results:
            word = self._paint("PASS" if r.ok else "FAIL", "ok" if r.ok else "fail")
            self.line(f"  {word}  {r.name.ljust(width)}  {r.detail}")


def _reason(e: BaseException) -> str:
    """The first line of an exception's message, for a failed step."""
    if isinstance(e, KeyboardInterrupt):
        return "interrupted"
    lines = str(e).splitlines()
    return lines[0] if lines else type(e).__name__
