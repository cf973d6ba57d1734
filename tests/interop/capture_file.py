"""Stored captures: the messages a reference daemon sent, as hex text.

Format (``tests/interop/captures/<daemon>.hex``)::

    # bird2 BIRD 2.0.12
    # ... free comment lines ...
    # session ebgp eBGP 10.0.1.2 -> 10.0.1.1 ipv4-unicast ipv6-unicast
    # sent-open ffffffff...      (the test peer's own OPEN on that session)
    ffffffff...                  (one message per line, header included)
    ...
    # session ibgp ...

The first line names the daemon and its version.  Every other ``#`` line
is a comment to ``bgpd decode``, which therefore decodes the whole file as
it is (``bgpd decode --file tests/interop/captures/bird2.hex``); the
``# session`` and ``# sent-open`` comments let the tests split the file into
sessions and negotiate each session's options again offline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
CAPTURES = HERE / "captures"


@dataclass
class StoredSession:
    label: str
    description: str
    sent_open: bytes
    messages: list = field(default_factory=list)   # whole messages, bytes


@dataclass
class CaptureFile:
    kind: str
    version: str
    sessions: list = field(default_factory=list)
    comments: list = field(default_factory=list)

    def text(self) -> str:
        lines = [f"# {self.kind} {self.version}"]
        lines += [f"# {c}" for c in self.comments]
        for s in self.sessions:
            lines.append(f"# session {s.label} {s.description}".rstrip())
            lines.append(f"# sent-open {s.sent_open.hex()}")
            lines += [m.hex() for m in s.messages]
        return "\n".join(lines) + "\n"

    def write(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.text())
        return path

    @classmethod
    def parse(cls, text: str) -> "CaptureFile":
        lines = text.splitlines()
        if not lines or not lines[0].startswith("# "):
            raise ValueError("a capture starts with '# <daemon> <version>'")
        kind, _, version = lines[0][2:].partition(" ")
        cap = cls(kind, version.strip())
        current = None
        for n, line in enumerate(lines[1:], start=2):
            line = line.strip()
            if not line:
                continue
            if line.startswith("# session "):
                label, _, desc = line[len("# session "):].partition(" ")
                current = StoredSession(label, desc.strip(), b"")
                cap.sessions.append(current)
            elif line.startswith("# sent-open "):
                if current is None:
                    raise ValueError(f"line {n}: sent-open outside a session")
                current.sent_open = bytes.fromhex(line[len("# sent-open "):])
            elif line.startswith("#"):
                if current is None:
                    cap.comments.append(line[1:].strip())
            else:
                if current is None:
                    raise ValueError(f"line {n}: message outside a session")
                current.messages.append(bytes.fromhex(line))
        return cap

    @classmethod
    def read(cls, path: str | Path) -> "CaptureFile":
        return cls.parse(Path(path).read_text())


def capture_path(kind: str) -> Path:
    return CAPTURES / f"{kind}.hex"


__all__ = ["CAPTURES", "CaptureFile", "StoredSession", "capture_path"]
