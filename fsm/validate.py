"""Is the peer's OPEN acceptable? (RFC 4271 section 6.2 and its updates.)

The codec has already refused what the bytes alone condemn (version, hold
time 1 or 2, identifier 0.0.0.0, malformed parameters).  Here are the
checks that need the session's configuration, in the order of RFC 4271
section 6.2; the first that fails raises ``WireError`` carrying the
NOTIFICATION to send:

- peer AS (2/2 Bad Peer AS): not the configured one, 0 (RFC 7607), or
  AS_TRANS from a speaker without the 4-octet AS capability (RFC 6793:
  AS_TRANS stands in for a 4-octet AS that only the capability carries).
  The data is the AS the peer sent, 4 octets with the capability and 2
  without (as BIRD and FRR send it);
- hold time (2/6 Unacceptable Hold Time): below the configured minimum;
- BGP identifier (2/3 Bad BGP Identifier): our own, on an internal session
  (RFC 6286 section 2.2);
- required capabilities (2/7 Unsupported Capability, RFC 5492 section 5):
  the data lists the capabilities the peer lacks, as we would send them;
- no address family in common (2/7, data: our Multiprotocol capabilities);
- BGP role (2/11 Role Mismatch, RFC 9234 section 4.2): a pair of roles
  that cannot peer, several different roles, or none in strict mode.
"""

from __future__ import annotations

from wire.capabilities import BgpRole, FourOctetAS, Multiprotocol, encode_capability
from wire.constants import AS_TRANS, BGP_VERSION, OpenSubcode
from wire.errors import open_error
from wire.open import Open

from .config import ROLE_PAIRS, SessionConfig
from .negotiate import families_of


def check_open(cfg: SessionConfig, ours: Open, theirs: Open) -> None:
    """Raise ``WireError`` (an OPEN Message Error) if ``theirs`` is not
    acceptable to a session configured as ``cfg`` that sent ``ours``."""
    if theirs.version != BGP_VERSION:
        raise open_error(OpenSubcode.UNSUPPORTED_VERSION_NUMBER,
                         BGP_VERSION.to_bytes(2, "big"), f"BGP version {theirs.version}")
    _check_peer_as(cfg, theirs)
    _check_hold_time(cfg, theirs)
    _check_identifier(cfg, theirs)
    _check_required(cfg, ours, theirs)
    if not families_of(ours) & families_of(theirs):
        mp = b"".join(encode_capability(c) for c in ours.capabilities_of(Multiprotocol))
        raise open_error(OpenSubcode.UNSUPPORTED_CAPABILITY, mp, "no address family in common")
    _check_role(cfg, theirs)


def _check_peer_as(cfg: SessionConfig, theirs: Open) -> None:
    four = theirs.capability(FourOctetAS)
    if four is not None:
        asn, data = four.asn, four.asn.to_bytes(4, "big")
    else:
        asn, data = theirs.my_as, theirs.my_as.to_bytes(2, "big")
        if asn == AS_TRANS:
            raise open_error(OpenSubcode.BAD_PEER_AS, data,
                             "AS_TRANS without the 4-octet AS capability")
    if asn == 0:
        raise open_error(OpenSubcode.BAD_PEER_AS, data, "peer AS 0")
    if cfg.peer_as is not None and asn != cfg.peer_as:
        raise open_error(OpenSubcode.BAD_PEER_AS, data,
                         f"peer AS {asn}, expected {cfg.peer_as}")


def _check_hold_time(cfg: SessionConfig, theirs: Open) -> None:
    hold = theirs.hold_time
    if hold in (1, 2) or (hold and hold < cfg.min_hold_time):
        raise open_error(OpenSubcode.UNACCEPTABLE_HOLD_TIME, b"",
                         f"hold time {hold} below {max(3, cfg.min_hold_time)}")


def _check_identifier(cfg: SessionConfig, theirs: Open) -> None:
    if theirs.bgp_id == 0:
        raise open_error(OpenSubcode.BAD_BGP_IDENTIFIER, b"", "BGP identifier 0.0.0.0")
    internal = theirs.asn == cfg.local_as
    if internal and theirs.bgp_id == cfg.local_id:
        raise open_error(OpenSubcode.BAD_BGP_IDENTIFIER, b"",
                         "internal peer uses our BGP identifier")


def _check_required(cfg: SessionConfig, ours: Open, theirs: Open) -> None:
    missing = []
    for want in cfg.required_capabilities:
        if isinstance(want, int):
            if not any(c.code == want for c in theirs.capabilities):
                ours_of_code = [c for c in ours.capabilities if c.code == want]
                missing.extend(encode_capability(c) for c in ours_of_code)
                if not ours_of_code:
                    missing.append(bytes([want, 0]))
        elif want not in theirs.capabilities:
            missing.append(encode_capability(want))
    if missing:
        raise open_error(OpenSubcode.UNSUPPORTED_CAPABILITY, b"".join(missing),
                         "peer lacks a required capability")


def _check_role(cfg: SessionConfig, theirs: Open) -> None:
    if cfg.role is None:
        return
    roles = {c.role for c in theirs.capabilities_of(BgpRole)}
    if not roles:
        if cfg.strict_role:
            raise open_error(OpenSubcode.ROLE_MISMATCH, b"", "peer sent no BGP role (strict)")
        return
    if len(roles) > 1:
        raise open_error(OpenSubcode.ROLE_MISMATCH, b"", "peer sent several BGP roles")
    theirs_role = roles.pop()
    if (cfg.role, theirs_role) not in ROLE_PAIRS:
        raise open_error(OpenSubcode.ROLE_MISMATCH, b"",
                         f"roles {cfg.role} (ours) and {theirs_role} (peer's) do not match")
