"""The control socket: one JSON request per line in, one JSON reply per line
out, over a UNIX stream socket (mode 0660 by default).

Request:  {"command": ["show", "protocols", "all", "peer1"], "json": false}
Reply:    {"ok": true, "result": ...}   or   {"ok": false, "error": "why"}

The daemon answers with data only; ``bgpctl`` turns it into the columns
operators read (or prints it as JSON with ``--json``), so a script and a
person see the same facts.  Commands are looked up in a table of word
sequences (``Commands``); an unknown command or peer name is answered with
an error that says what exists.
"""

from __future__ import annotations

import contextlib
import json
import os

import trio

MAX_REQUEST = 64 * 1024


class CommandError(Exception):
    """A request the daemon understood but cannot carry out; the message is
    shown to the operator as is."""


class Commands:
    """A table from command words to handlers.

    A handler is registered under its fixed words (``("show", "protocols")``)
    and receives the remaining words as arguments.  The longest registered
    prefix of the request wins.
    """

    def __init__(self):
        self._table: dict[tuple[str, ...], tuple] = {}

    def add(self, words: str, handler, help_text: str = "") -> None:
        self._table[tuple(words.split())] = (handler, help_text)

    def help(self) -> list[tuple[str, str]]:
        return sorted((" ".join(k), v[1]) for k, v in self._table.items())

    async def run(self, words: list[str]):
        for n in range(len(words), 0, -1):
            entry = self._table.get(tuple(words[:n]))
            if entry is not None:
                result = entry[0](words[n:])
                if hasattr(result, "__await__"):
                    result = await result
                return result
        known = ", ".join(" ".join(k) for k in sorted(self._table))
        raise CommandError(f"unknown command {' '.join(words)!r}; commands: {known}")


async def _serve_one(stream: trio.SocketStream, commands: Commands, log) -> None:
    buf = b""
    async with stream:
        while True:
            try:
                data = await stream.receive_some(65536)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                return
            if not data:
                return
            buf += data
            if len(buf) > MAX_REQUEST:
                await _reply(stream, {"ok": False, "error": "request too long"})
                return
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if not line.strip():
                    continue
                try:
                    req = json.loads(line)
                    words = [str(w) for w in req["command"]]
                    reply = {"ok": True, "result": await commands.run(words)}
                except CommandError as e:
                    reply = {"ok": False, "error": str(e)}
                except (ValueError, KeyError, TypeError) as e:
                    reply = {"ok": False, "error": f"malformed request: {e}"}
                except Exception as e:          # keep serving; say what broke
                    log.exception("control command %r failed", line[:200])
                    reply = {"ok": False, "error": f"internal error: {e!r}"}
                if not await _reply(stream, reply):
                    return


async def _reply(stream, reply) -> bool:
    try:
        await stream.send_all(json.dumps(reply, default=str).encode() + b"\n")
        return True
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        return False


@contextlib.asynccontextmanager
async def unix_listener(path: str, mode: int):
    """A listening UNIX stream socket at ``path`` with permissions ``mode``:
    the parent directory is made, a stale socket file replaced, and the
    file removed at the end."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    sock = trio.socket.socket(trio.socket.AF_UNIX, trio.socket.SOCK_STREAM)
    try:
        await sock.bind(path)
        os.chmod(path, mode)
        sock.listen(16)
        yield trio.SocketListener(sock)
    finally:
        sock.close()
        try:
            os.unlink(path)
        except OSError:
            pass


async def serve(path: str, commands: Commands, log, mode: int = 0o660,
                task_status=trio.TASK_STATUS_IGNORED) -> None:
    """Listen on ``path`` until cancelled; the socket file is removed at the end."""
    async with unix_listener(path, mode) as listener:
        task_status.started()
        async with trio.open_nursery() as nursery:
            while True:
                stream = await listener.accept()
                nursery.start_soon(_serve_one, stream, commands, log)
