"""``dummy`` ports: in-memory netdevs for tests, like Open vSwitch's netdev-dummy.

A dummy port has no device behind it.  Frames arrive only when something calls :meth:`DummyNetdev.receive`
(``pyvs-appctl netdev-dummy/receive PORT PACKET`` does); frames the switch transmits with :meth:`DummyNetdev.send`
are counted, kept in a short queue (``sent``) for in-process tests, and written to a pcap file if configured.

Options (the Interface ``options`` column), as netdev-dummy has them:

* ``pcap=FILE``: write every received and transmitted frame to FILE (libpcap format, Ethernet link type);
* ``rxq_pcap=FILE`` / ``tx_pcap=FILE``: received / transmitted frames only, to separate files.

Other options are ignored, as netdev-dummy ignores them.  A pcap file that cannot be opened is a configuration
error reported in the Interface ``error`` column.

``dummy-internal`` is the same device shown with that class name; it stands in for ``internal`` ports (including a
bridge's own port) on the ``dummy`` datapath, as ``ovs-vswitchd --enable-dummy=override`` does.

:func:`parse_packet` turns the PACKET argument of ``netdev-dummy/receive`` into a frame as Open vSwitch 3.1 does:
hex bytes, or a flow key in datapath syntax (``eth(...),eth_type(0x0800),ipv4(...),udp(...)``) read into a
:class:`ComposeFlow` by :func:`odp_key_to_flow` and composed byte for byte by :func:`flow_compose`; its errors
are Open vSwitch's texts.  Open vSwitch refuses ovs-ofctl match syntax there; ``parse_packet(text,
ofctl_syntax=True)`` also takes it (for in-process tests and pyvswitch's own ``netdev-dummy/send``).
"""

from __future__ import annotations

import ipaddress
import itertools
import re
import struct
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, BinaryIO

from pyvswitch.flow import fields as F
from pyvswitch.flow.match import Match
from pyvswitch.flow.match_text import MatchParseError, parse_match
from pyvswitch.packet.checksum import internet_checksum, pseudo_header_sum

from .netdev import Netdev, NetdevError, register
from .offload import resolve

__all__ = ["L7_PAYLOAD", "ComposeFlow", "DummyNetdev", "PcapWriter", "flow_compose", "match_to_flow", "odp_key_to_flow", "parse_packet",
           "read_pcap"]

_MAC_SEQ = itertools.count(1)

PCAP_MAGIC = 0xA1B2C3D4
PCAP_SNAPLEN = 1518


class PcapWriter:
    """Appends frames to a libpcap file (version 2.4, microsecond timestamps, link type 1 = Ethernet).  As in
    netdev-dummy, an existing file is appended to (its header is written only when the file is empty), so a port
    re-created with the same ``tx_pcap`` keeps what was captured before."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.file: BinaryIO = open(path, "ab")  # noqa: SIM115 - kept open for the life of the port
        if self.file.tell() == 0:
            self.file.write(struct.pack("<IHHiIII", PCAP_MAGIC, 2, 4, 0, 0, PCAP_SNAPLEN, 1))
            self.file.flush()

    def write(self, frame: bytes, now: float | None = None) -> None:
        t = time.time() if now is None else now
        sec = int(t)
        usec = int((t - sec) * 1e6)
        data = frame[:PCAP_SNAPLEN]
        self.file.write(struct.pack("<IIII", sec, usec, len(data), len(frame)) + data)
        self.file.flush()

    def close(self) -> None:
        self.file.close()


def read_pcap(path: str) -> list[bytes]:
    """The frames of a libpcap file (either byte order), for tests and tools."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise ValueError(f"{path}: not a pcap file")
    (magic,) = struct.unpack_from("<I", data)
    order = "<" if magic == PCAP_MAGIC else ">"
    if struct.unpack_from(order + "I", data)[0] != PCAP_MAGIC:
        raise ValueError(f"{path}: bad pcap magic")
    frames = []
    pos = 24
    while pos + 16 <= len(data):
        _, _, incl, _ = struct.unpack_from(order + "IIII", data, pos)
        pos += 16
        frames.append(data[pos:pos + incl])
        pos += incl
    return frames


class DummyNetdev(Netdev):
    """An in-memory port.  ``sent`` keeps the last 1,000 transmitted frames for in-process tests."""

    stats_names = ("rx_packets", "rx_bytes", "tx_packets", "tx_bytes")

    def __init__(self, name: str, type_: str) -> None:
        super().__init__(name, type_)
        self.netdev_class = "dummy-internal" if type_ in ("dummy-internal", "internal") else "dummy"
        n = next(_MAC_SEQ)
        # Like netdev-dummy, a locally administered address from a fixed prefix and a per-process counter.
        self.mac = f"aa:55:aa:55:{(n >> 8) & 0xff:02x}:{n & 0xff:02x}"
        self.sent: deque[bytes] = deque(maxlen=1000)
        self.options: dict[str, str] = {}
        self.mtu = 1500
        self.admin = True   # ``netdev-dummy/set-admin-state``; the link follows it, as in netdev-dummy.
        self._rx_pcap: PcapWriter | None = None
        self._tx_pcap: PcapWriter | None = None

    def set_config(self, options: Mapping[str, str]) -> None:
        wanted = {k: options[k] for k in ("pcap", "rxq_pcap", "tx_pcap") if k in options}
        current = {k: self.options[k] for k in ("pcap", "rxq_pcap", "tx_pcap") if k in self.options}
        if wanted != current:
            rx_path = wanted.get("pcap") or wanted.get("rxq_pcap")
            tx_path = wanted.get("pcap") or wanted.get("tx_pcap")
            try:
                rx = PcapWriter(rx_path) if rx_path else None
                tx = rx if tx_path == rx_path and rx is not None else (PcapWriter(tx_path) if tx_path else None)
            except OSError as e:
                raise NetdevError(f"{self.name}: could not open pcap file {e.filename} ({e.strerror})") from None
            self._close_pcaps()
            self._rx_pcap, self._tx_pcap = rx, tx
        self.options = dict(options)

    def receive(self, frame: bytes) -> None:
        if self._rx_pcap is not None:
            self._rx_pcap.write(frame)
        super().receive(frame)

    def send(self, frame: bytes, vnet: bytes | None = None) -> bool:
        # A dummy port takes no offloads: a frame from a real device has them resolved first.
        for f in resolve(frame, vnet) if vnet is not None else (frame,):
            self.stats.tx_packets += 1
            self.stats.tx_bytes += len(f)
            self.sent.append(f)
            if self._tx_pcap is not None:
                self._tx_pcap.write(f)
        return True

    def get_etheraddr(self) -> str:
        return self.mac

    def get_mtu(self) -> int:
        return self.mtu

    def set_mtu(self, mtu: int) -> None:
        if not 68 <= mtu <= 65535:
            raise NetdevError(f"{self.name}: invalid MTU {mtu}")
        self.mtu = mtu

    def admin_up(self) -> bool:
        return self.admin

    def carrier(self) -> bool:
        return self.admin

    def _close_pcaps(self) -> None:
        for w in {id(w): w for w in (self._rx_pcap, self._tx_pcap) if w is not None}.values():
            w.close()
        self._rx_pcap = self._tx_pcap = None

    def close(self) -> None:
        self._close_pcaps()


register("dummy", DummyNetdev)
register("dummy-internal", DummyNetdev)


# ---------------------------------------------------------------------------------------------------------------
# Packets given as text.
#
# Open vSwitch 3.1 takes the PACKET of netdev-dummy/receive as hex bytes or as a flow key in datapath syntax
# (``in_port(1),eth(src=..,dst=..),eth_type(0x0800),ipv4(...),udp(...)``); ovs-ofctl match syntax is refused
# (``syntax error at TEXT``).  The key is parsed (values wrap like C's sscanf), checked as the datapath checks a
# flow key (wrong keys for the protocol are ignored, some values are errors), then composed into a frame.  All of
# it was measured on a real ovs-vswitchd 3.1 (tests/data/netdev/compose_cases.json).

#: The L7 payload Open vSwitch composes after a UDP header, a TCP header without SYN/FIN/RST, and an ICMP or
#: ICMPv6 echo: 64 bytes counting up from 0.
L7_PAYLOAD = bytes(range(64))

_DELIMS = ", \t\r\n"
_DL_TYPE_NONE = 0x05FF
_VLAN_CFI = 0x1000
_FRAG_ANY, _FRAG_LATER = 1, 2
_MAX_DEPTH = 32   # Nested encap() keys beyond this are refused (as a syntax error).
_VLAN_LIMIT = 1   # Open_vSwitch other_config:vlan-limit's default: only the outer tag of a key is used.


class _Syntax(Exception):
    """A key that does not parse; the command's error is ``syntax error at`` the rest of the text from it."""


_C_SPACE = " \t\n\v\f\r"   # C's isspace(), which sscanf skips before a number.
_INT = re.compile(r"[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")
_DEC = re.compile(r"[ \t\n\v\f\r]*([+-]?)([0-9]+)")
_HEXNUM = re.compile(r"[ \t\n\v\f\r]*([+-]?)(?:0[xX])?([0-9a-fA-F]+)")


def _c_long(sign: str, v: int) -> int:
    """A value as C's strtol leaves it: saturated to a 64-bit long."""
    v = -v if sign == "-" else v
    return max(-(1 << 63), min(v, (1 << 63) - 1))


def _scan_int(s: str, i: int, bits: int) -> tuple[int, int]:
    """Like sscanf ``%i`` into an unsigned integer of ``bits`` bits: white space, sign, 0x hex, 0 octal or
    decimal; out-of-range values wrap."""
    m = _INT.match(s, i)
    if not m:
        raise _Syntax
    t = m.group(2)
    v = int(t, 16) if t[:2] in ("0x", "0X") else int(t, 8) if len(t) > 1 and t[0] == "0" else int(t)
    return _c_long(m.group(1), v) & ((1 << bits) - 1), m.end()


def _scan_u(bits: int, limit: int | None = None) -> Callable[[str, int], tuple[int, int]]:
    """A scanner for a ``bits``-bit integer; with ``limit``, larger values are a syntax error."""
    def scan(s: str, i: int) -> tuple[int, int]:
        v, j = _scan_int(s, i, bits)
        if limit is not None and v > limit:
            raise _Syntax
        return v, j
    return scan


def _scan_octets(s: str, i: int, n: int, sep: str, number: re.Pattern[str], base: int) -> tuple[bytes, int]:
    """``n`` numbers separated by ``sep`` (each kept to its low byte, as sscanf into a byte does)."""
    out = []
    for k in range(n):
        if k:
            if not s.startswith(sep, i):
                raise _Syntax
            i += 1
        m = number.match(s, i)
        if not m:
            raise _Syntax
        out.append(_c_long(m.group(1), int(m.group(2), base)) & 0xFF)
        i = m.end()
    return bytes(out), i


def _scan_ip4(s: str, i: int) -> tuple[bytes, int]:
    return _scan_octets(s, i, 4, ".", _DEC, 10)


def _scan_ip6(s: str, i: int) -> tuple[bytes, int]:
    m = re.compile(r"[0-9a-fA-F:.]{1,46}").match(s, i)
    if not m:
        raise _Syntax
    try:
        return ipaddress.IPv6Address(m.group(0)).packed, m.end()
    except ValueError:
        raise _Syntax from None


def _scan_mac(s: str, i: int) -> tuple[bytes, int]:
    return _scan_octets(s, i, 6, ":", _HEXNUM, 16)


def _scan_frag(s: str, i: int) -> tuple[int, int]:
    for name, v in (("no", 0), ("first", _FRAG_ANY), ("later", _FRAG_ANY | _FRAG_LATER)):
        if s.startswith(name, i):
            return v, i + len(name)
    raise _Syntax


_TCP_FLAG_NAMES = {"fin": 0x001, "syn": 0x002, "rst": 0x004, "psh": 0x008, "ack": 0x010, "urg": 0x020,
                   "ece": 0x040, "cwr": 0x080, "ns": 0x100}
_CT_STATE_NAMES = ("new", "est", "rel", "rpl", "inv", "trk", "snat", "dnat")

_U8, _U16, _U32 = _scan_u(8), _scan_u(16), _scan_u(32)
_MAC0, _IP40, _IP60 = bytes(6), bytes(4), bytes(16)

# Attribute keys: name -> ((field, scanner, default), ...), in Open vSwitch's order (the order it formats them).
_ATTR_KEYS: dict[str, tuple[tuple[str, Callable[[str, int], tuple[object, int]], object], ...]] = {
    "eth": (("src", _scan_mac, _MAC0), ("dst", _scan_mac, _MAC0)),
    "vlan": (("vid", _scan_u(32, 0xFFF), 0), ("pcp", _scan_u(32, 7), 0), ("cfi", _scan_u(32, 1), 1)),
    "mpls": (("label", _scan_u(32, 0xFFFFF), 0), ("tc", _scan_u(32, 7), 0), ("ttl", _scan_u(32, 0xFF), 0),
             ("bos", _scan_u(32, 1), 0)),
    "ipv4": (("src", _scan_ip4, _IP40), ("dst", _scan_ip4, _IP40), ("proto", _U8, 0), ("tos", _U8, 0),
             ("ttl", _U8, 0), ("frag", _scan_frag, 0)),
    "ipv6": (("src", _scan_ip6, _IP60), ("dst", _scan_ip6, _IP60), ("label", _scan_u(32, 0xFFFFF), 0),
             ("proto", _U8, 0), ("tclass", _U8, 0), ("hlimit", _U8, 0), ("frag", _scan_frag, 0)),
    "tcp": (("src", _U16, 0), ("dst", _U16, 0)),
    "udp": (("src", _U16, 0), ("dst", _U16, 0)),
    "sctp": (("src", _U16, 0), ("dst", _U16, 0)),
    "icmp": (("type", _U8, 0), ("code", _U8, 0)),
    "icmpv6": (("type", _U8, 0), ("code", _U8, 0)),
    "arp": (("sip", _scan_ip4, _IP40), ("tip", _scan_ip4, _IP40), ("op", _U16, 0), ("sha", _scan_mac, _MAC0),
            ("tha", _scan_mac, _MAC0)),
    "nd": (("target", _scan_ip6, _IP60), ("sll", _scan_mac, _MAC0), ("tll", _scan_mac, _MAC0)),
    "nd_ext": (("nd_reserved", _U32, 0), ("nd_options_type", _U8, 0)),
    # Metadata with fields; they do not change the frame.
    "packet_type": (("ns", _U16, 0), ("id", _U16, 0)),
    "ct_tuple4": (("src", _scan_ip4, _IP40), ("dst", _scan_ip4, _IP40), ("proto", _U8, 0), ("tp_src", _U16, 0),
                  ("tp_dst", _U16, 0)),
    "ct_tuple6": (("src", _scan_ip6, _IP60), ("dst", _scan_ip6, _IP60), ("proto", _U8, 0), ("tp_src", _U16, 0),
                  ("tp_dst", _U16, 0)),
}


def _scan_flags(s: str, i: int, names: dict[str, int], allowed: int) -> tuple[int, int]:
    """Flags as Open vSwitch writes them, up to the closing parenthesis: either each name signed (``+syn-ack``:
    ``-`` leaves the bit clear), or names and numbers each followed by ``|`` or the end (``syn|ack``,
    ``syn|0x10``).  Something is required."""
    flags = 0
    if s.startswith(")", i):
        raise _Syntax
    if s[i:i + 1] in ("+", "-"):
        while not s.startswith(")", i):
            if i >= len(s):
                raise _Syntax
            if s[i] == " ":
                i += 1
                continue
            if s[i] not in "+-":
                raise _Syntax
            m = re.compile(r"[^+\- )]*").match(s, i + 1)
            assert m is not None
            if m.group(0) not in names:
                raise _Syntax
            if s[i] == "+":
                flags |= names[m.group(0)]
            i = m.end()
        return flags, i
    while not s.startswith(")", i):
        if _INT.match(s, i):
            v, i = _scan_int(s, i, 64)
            if v & ~allowed:
                raise _Syntax
            flags |= v
        else:
            m = re.compile(r"[a-z]+(?=[|)])").match(s, i)
            if not m or m.group(0) not in names:
                raise _Syntax
            flags |= names[m.group(0)]
            i = m.end()
        if s.startswith("|", i):
            i += 1
    return flags, i


def _scan_tcp_flags(s: str, i: int) -> tuple[int, int]:
    return _scan_flags(s, i, _TCP_FLAG_NAMES, 0xFFF)


def _scan_ct_state(s: str, i: int) -> tuple[int, int]:
    """Connection-tracking state (only checked: the frame does not carry it)."""
    if re.compile(r"[ \t\n\v\f\r]*[+-]?(0[xX][0-9a-fA-F]+|[0-9]+)/").match(s, i):
        return _scan_int(s, i, 32)
    return _scan_flags(s, i, {n: 1 << b for b, n in enumerate(_CT_STATE_NAMES)}, 0xFF)


def _scan_ct_label(s: str, i: int) -> tuple[int, int]:
    """A 128-bit label: ``0x`` and hex digits, or a decimal number of at most 64 bits."""
    if m := re.compile(r"0[xX]([0-9a-fA-F]*)").match(s, i):
        digits = m.group(1).lstrip("0")
        if len(digits) > 32:
            raise _Syntax
        return int(digits or "0", 16), m.end()
    if (m := re.compile(r"[0-9]+").match(s, i)) and int(m.group(0)) < 1 << 64:
        return int(m.group(0)), m.end()
    raise _Syntax


# Single-value keys: name -> (scanner, whether ``/MASK`` may follow).  Metadata keys do not change the frame.
_SINGLE_KEYS: dict[str, tuple[Callable[[str, int], tuple[int, int]], bool]] = {
    "in_port": (_U32, True), "eth_type": (_U16, True), "skb_priority": (_U32, True), "skb_mark": (_U32, True),
    "recirc_id": (_U32, False), "dp_hash": (_U32, True), "ct_zone": (_U16, True), "ct_mark": (_U32, True),
    "ct_state": (_scan_ct_state, True), "ct_label": (_scan_ct_label, True), "tcp_flags": (_scan_tcp_flags, False),
}
_UUID = re.compile(r"ufid:([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})")


class _Key:
    """One parsed key: its name, its values (a dict for attribute keys, an int for single ones, a list of keys
    for ``encap``) and its text (for keys this module does not format)."""

    __slots__ = ("name", "text", "value")

    def __init__(self, name: str, value: Any, text: str) -> None:
        self.name, self.text = name, text
        self.value: Any = value


def _skip_balanced(s: str, j: int) -> int:
    """The index just after the parenthesis closing the one opened before ``j``."""
    depth = 1
    while j < len(s):
        if s[j] == "(":
            depth += 1
        elif s[j] == ")":
            depth -= 1
            if not depth:
                return j + 1
        j += 1
    raise _Syntax


_TUN_FIELDS: dict[str, Callable[[str, int], tuple[object, int]]] = {
    "tun_id": _scan_u(64), "src": _scan_ip4, "dst": _scan_ip4, "ipv6_src": _scan_ip6, "ipv6_dst": _scan_ip6,
    "tos": _U8, "ttl": _U8, "tp_src": _U16, "tp_dst": _U16}
_TUN_FLAGS = ("df", "csum", "key", "oam")


def _parse_tunnel(s: str, i: int, j: int) -> tuple[_Key, int]:
    """``tunnel(...)``: tunnel metadata, which does not reach the frame but must parse (and, checked later,
    carry a TTL)."""
    values: dict[str, object] = {}
    flags: list[str] = []
    while not s.startswith(")", j):
        m = re.compile(r"([a-z_0-9]+)([=(])").match(s, j)
        if not m:
            raise _Syntax
        f, j = m.group(1), m.end()
        if m.group(2) == "=" and f in _TUN_FIELDS:
            values[f], j = _TUN_FIELDS[f](s, j)
        elif m.group(2) == "(" and f == "flags":
            m2 = re.compile(r"[a-z|]*\)").match(s, j)
            names = m2.group(0)[:-1].split("|") if m2 else ["?"]
            if not m2 or any(n not in _TUN_FLAGS for n in names if n):
                raise _Syntax
            flags, j = [n for n in names if n], m2.end()
        elif m.group(2) == "(" and f in ("geneve", "vxlan", "erspan", "gtpu"):
            j = _skip_balanced(s, j)
        else:
            raise _Syntax
        if s.startswith(",", j):
            j += 1
        elif not s.startswith(")", j):
            raise _Syntax
    if "tun_id" in values and "key" not in flags:
        flags.append("key")
    values["flags"] = flags
    return _Key("tunnel", values, s[i:j + 1]), j + 1


def _parse_key(s: str, i: int, depth: int = 0) -> tuple[_Key, int]:
    """Parse the key at ``s[i:]``; returns it and the index after it."""
    m = re.compile(r"([a-z_0-9]+)\(").match(s, i)
    if not m:
        raise _Syntax
    name, j = m.group(1), m.end()
    if name == "encap":
        if depth >= _MAX_DEPTH:
            raise _Syntax
        keys, j = _parse_keys(s, j, nested=True, depth=depth + 1)
        if not s.startswith(")", j):
            raise _Syntax
        return _Key(name, keys, s[i:j + 1]), j + 1
    if name == "tunnel":
        return _parse_tunnel(s, i, j)
    if name in _ATTR_KEYS:
        fields = _ATTR_KEYS[name]
        values = {f: d for f, _, d in fields}
        while not s.startswith(")", j):
            for f, scan, _ in fields:
                if s.startswith(f + "=", j):
                    values[f], j = scan(s, j + len(f) + 1)
                    break
            else:
                raise _Syntax
            if s.startswith(",", j):
                j += 1
            elif not s.startswith(")", j):
                raise _Syntax
        return _Key(name, values, s[i:j + 1]), j + 1
    if name not in _SINGLE_KEYS:
        raise _Syntax
    scan, maskable = _SINGLE_KEYS[name]
    v, j = scan(s, j)
    if maskable and s.startswith("/", j):
        _, j = scan(s, j + 1)
    if not s.startswith(")", j):
        raise _Syntax
    return _Key(name, v, s[i:j + 1]), j + 1


def _parse_keys(s: str, i: int, nested: bool = False, depth: int = 0) -> tuple[list[_Key], int]:
    """Parse keys separated by delimiters up to the end (or, nested, up to the closing parenthesis)."""
    keys: list[_Key] = []
    while True:
        while i < len(s) and s[i] in _DELIMS:
            i += 1
        if i >= len(s) or (nested and s[i] == ")"):
            return keys, i
        if not nested and (u := _UUID.match(s, i)):
            # A flow's UFID may come first; after it Open vSwitch wants white space and another key.
            i = u.end()
            while i < len(s) and s[i] in " \t\r\n":
                i += 1
            if i >= len(s) or s[i] == ",":
                raise ValueError(f"syntax error at {s[i:]}")
            continue
        try:
            key, i = _parse_key(s, i, depth)
        except _Syntax:
            if nested:
                raise
            raise ValueError(f"syntax error at {s[i:]}") from None
        keys.append(key)


# ---------------------------------------------------------------------------------------------------------------
# Formatting a key back (Open vSwitch quotes the key it refuses as it formats it).

def _mac_str(b: bytes) -> str:
    return ":".join(f"{x:02x}" for x in b)


def _hex8(v: int) -> str:
    return f"{v:#x}" if v else "0"


def _format_key(k: _Key) -> str:
    v = k.value
    if k.name == "encap":
        return f"encap({_format_keys(v)})"
    if k.name == "eth_type":
        return f"eth_type(0x{v:04x})"
    if k.name == "in_port":
        return f"in_port({v})"
    if k.name == "tcp_flags":
        names = [n for n, bit in {**_TCP_FLAG_NAMES, "[200]": 0x200, "[400]": 0x400, "[800]": 0x800}.items()
                 if v & bit]
        return f"tcp_flags({'|'.join(names) or '0'})"
    if k.name in _SINGLE_KEYS:
        return f"{k.name}({_hex8(v)})"
    if k.name == "packet_type":
        return f"packet_type(ns={v['ns']},id={_hex8(v['id'])})"
    if k.name in ("ct_tuple4", "ct_tuple6"):
        ports = "tp_src={},tp_dst={}" if k.name == "ct_tuple4" else "src_port={},dst_port={}"
        return (f"{k.name}(src={ipaddress.ip_address(v['src'])},dst={ipaddress.ip_address(v['dst'])},"
                f"proto={v['proto']}," + ports.format(v["tp_src"], v["tp_dst"]) + ")")
    if k.name == "nd_ext":
        return f"nd_ext(nd_reserved={v['nd_reserved']:#x},nd_options_type={v['nd_options_type']})"
    if k.name == "tunnel":
        parts = []
        for f in _TUN_FIELDS:
            x = v.get(f)
            if x is None:
                continue
            shown = (f"{x:#x}" if f == "tun_id" else _hex8(x) if f == "tos" else
                     str(ipaddress.ip_address(x)) if isinstance(x, bytes) else str(x))
            parts.append(f"{f}={shown},")
        text = "".join(parts)
        flags_text = "|".join(n for n in _TUN_FLAGS if n in v["flags"]) or "0"
        return f"tunnel({text}flags({flags_text}))"
    if not isinstance(v, dict) or k.name not in _ATTR_KEYS:
        return k.text
    if k.name == "eth":
        return f"eth(src={_mac_str(v['src'])},dst={_mac_str(v['dst'])})"
    if k.name == "vlan":
        tci = _vlan_tci(v)
        cfi = "" if tci & _VLAN_CFI else ",cfi=0"
        return f"vlan(vid={tci & 0xFFF},pcp={tci >> 13}{cfi})"
    if k.name == "mpls":
        lse = _mpls_lse(v)
        return f"mpls(label={lse >> 12},tc={(lse >> 9) & 7},ttl={lse & 0xFF},bos={(lse >> 8) & 1})"
    frag = {0: "no", 1: "first", 3: "later"}
    if k.name == "ipv4":
        return (f"ipv4(src={ipaddress.IPv4Address(v['src'])},dst={ipaddress.IPv4Address(v['dst'])},"
                f"proto={v['proto']},tos={_hex8(v['tos'])},ttl={v['ttl']},frag={frag[v['frag']]})")
    if k.name == "ipv6":
        return (f"ipv6(src={ipaddress.IPv6Address(v['src'])},dst={ipaddress.IPv6Address(v['dst'])},"
                f"label={_hex8(v['label'])},proto={v['proto']},tclass={_hex8(v['tclass'])},hlimit={v['hlimit']},"
                f"frag={frag[v['frag']]})")
    if k.name == "arp":
        return (f"arp(sip={ipaddress.IPv4Address(v['sip'])},tip={ipaddress.IPv4Address(v['tip'])},op={v['op']},"
                f"sha={_mac_str(v['sha'])},tha={_mac_str(v['tha'])})")
    if k.name == "nd":
        return (f"nd(target={ipaddress.IPv6Address(v['target'])},sll={_mac_str(v['sll'])},"
                f"tll={_mac_str(v['tll'])})")
    return f"{k.name}(" + ",".join(f"{f}={v[f]}" for f, _, _ in _ATTR_KEYS[k.name]) + ")"


def _format_keys(keys: list[_Key]) -> str:
    return ",".join(_format_key(k) for k in keys)


# ---------------------------------------------------------------------------------------------------------------
# The flow a key describes, and the frame composed from it.

class ComposeFlow:
    """The header fields of a composed frame (Open vSwitch's ``struct flow``, the parts that reach a frame)."""

    def __init__(self) -> None:
        self.dl_src = self.dl_dst = _MAC0
        self.dl_type = _DL_TYPE_NONE
        self.vlans: list[tuple[int, int]] = []   # (TPID, TCI), outermost first
        self.mpls_lse = [0, 0, 0]
        self.nw_src = self.nw_dst = _IP40
        self.ipv6_src = self.ipv6_dst = _IP60
        self.ipv6_label = self.nw_proto = self.nw_tos = self.nw_ttl = self.nw_frag = 0
        self.arp_sha = self.arp_tha = _MAC0
        self.tp_src = self.tp_dst = self.tcp_flags = self.igmp_group = 0
        self.nd_target = _IP60


def _vlan_tci(v: dict) -> int:
    return (v["vid"] & 0xFFF) | ((v["pcp"] & 7) << 13) | (_VLAN_CFI if v["cfi"] & 1 else 0)


def _mpls_lse(v: dict) -> int:
    return (((v["label"] & 0xFFFFF) << 12) | ((v["tc"] & 7) << 9) | ((v["bos"] & 1) << 8) | (v["ttl"] & 0xFF))


def _attrs(keys: list[_Key], all_keys: list[_Key]) -> dict[str, _Key]:
    out: dict[str, _Key] = {}
    for k in keys:
        if k.name in out:
            raise ValueError(f"duplicate {k.name} attribute in flow key; the flow key in error is: "
                             f"{_format_keys(all_keys)}")
        out[k.name] = k
    return out


def _ethertype(flow: ComposeFlow, a: dict[str, _Key], all_keys: list[_Key]) -> None:
    if "eth_type" in a:
        flow.dl_type = a["eth_type"].value
        if flow.dl_type < 0x600:
            raise ValueError(f"invalid Ethertype {flow.dl_type} in flow key; the flow key in error is: "
                             f"{_format_keys(all_keys)}")
    elif "ipv4" in a:
        flow.dl_type = 0x0800
    elif "ipv6" in a:
        flow.dl_type = 0x86DD
    elif "mpls" in a:
        flow.dl_type = 0x8847
    else:
        flow.dl_type = _DL_TYPE_NONE


def _l2_5_onward(flow: ComposeFlow, a: dict[str, _Key], all_keys: list[_Key]) -> None:
    t = flow.dl_type
    if t in (0x8847, 0x8848):
        if "mpls" in a:
            flow.mpls_lse[0] = _mpls_lse(a["mpls"].value)
        return
    if t == 0x0800 and "ipv4" in a:
        v = a["ipv4"].value
        flow.nw_src, flow.nw_dst, flow.nw_proto = v["src"], v["dst"], v["proto"]
        flow.nw_tos, flow.nw_ttl, flow.nw_frag = v["tos"], v["ttl"], v["frag"]
    elif t == 0x86DD and "ipv6" in a:
        v = a["ipv6"].value
        flow.ipv6_src, flow.ipv6_dst, flow.ipv6_label = v["src"], v["dst"], v["label"]
        flow.nw_proto, flow.nw_tos, flow.nw_ttl = v["proto"], v["tclass"], v["hlimit"]
        flow.nw_frag = v["frag"]
    elif t in (0x0806, 0x8035):
        if "arp" in a:
            v = a["arp"].value
            if v["op"] & 0xFF00:
                raise ValueError(f"unsupported ARP opcode {v['op']} in flow key; the flow key in error is: "
                                 f"{_format_keys(all_keys)}")
            flow.nw_src, flow.nw_dst, flow.nw_proto = v["sip"], v["tip"], v["op"]
            flow.arp_sha, flow.arp_tha = v["sha"], v["tha"]
        return
    elif t not in (0x0800, 0x86DD):
        return
    if flow.nw_frag & _FRAG_LATER:
        return
    proto = flow.nw_proto
    l4 = {6: "tcp", 17: "udp", 132: "sctp"}.get(proto)
    if l4:
        if l4 in a:
            flow.tp_src, flow.tp_dst = a[l4].value["src"], a[l4].value["dst"]
        if l4 == "tcp" and "tcp_flags" in a:
            flow.tcp_flags = a["tcp_flags"].value
    elif proto == 1 and t == 0x0800 and "icmp" in a:
        flow.tp_src, flow.tp_dst = a["icmp"].value["type"], a["icmp"].value["code"]
    elif proto == 58 and t == 0x86DD and "icmpv6" in a:
        flow.tp_src, flow.tp_dst = a["icmpv6"].value["type"], a["icmpv6"].value["code"]
        if flow.tp_src in (135, 136) and flow.tp_dst == 0:
            if "nd" in a:
                v = a["nd"].value
                flow.nd_target, flow.arp_sha, flow.arp_tha = v["target"], v["sll"], v["tll"]
            if "nd_ext" in a:
                flow.igmp_group = a["nd_ext"].value["nd_reserved"]
                flow.tcp_flags = a["nd_ext"].value["nd_options_type"]


def odp_key_to_flow(text: str, vlan_limit: int = _VLAN_LIMIT) -> ComposeFlow:
    """The flow a datapath flow key describes, checked as Open vSwitch checks it (raises ValueError with its
    message).  ``vlan_limit`` is the switch's ``other_config:vlan-limit`` (VLAN headers the key may give; 0: 2)."""
    vlan_limit = vlan_limit or 2
    keys, _ = _parse_keys(text, 0)
    a = _attrs(keys, keys)
    if "tunnel" in a and "ttl" not in a["tunnel"].value:
        raise ValueError(f"tunnel options missing TTL; the flow key in error is: {_format_keys(keys)}")
    flow = ComposeFlow()
    if "eth" in a:
        flow.dl_src, flow.dl_dst = a["eth"].value["src"], a["eth"].value["dst"]
    _ethertype(flow, a, keys)
    if flow.dl_type not in (0x8100, 0x88A8):
        _l2_5_onward(flow, a, keys)
        return flow
    encaps = 0
    while encaps < vlan_limit and flow.dl_type in (0x8100, 0x88A8):
        tci = _vlan_tci(a["vlan"].value) if "vlan" in a else 0
        flow.vlans.append((flow.dl_type, tci))
        flow.dl_type = 0
        if "vlan" not in a or "encap" not in a or tci == 0:
            return flow
        if not tci & _VLAN_CFI:
            raise ValueError(f"OVS_KEY_ATTR_VLAN 0x{tci:04x} is nonzero but CFI bit is not set; the flow key in "
                             f"error is: {_format_keys(keys)}")
        a = _attrs(a["encap"].value, keys)
        _ethertype(flow, a, keys)
        _l2_5_onward(flow, a, keys)
        encaps += 1
    return flow


def _csum(data: bytes, initial: int = 0) -> int:
    return internet_checksum(data, initial)


def _compose_l4(f: ComposeFlow) -> bytes:
    """The L4 header (and payload) of a frame; checksums are filled in afterwards by :func:`_l4_csum`."""
    if f.nw_frag & _FRAG_LATER:
        return b""
    p = f.nw_proto
    if p == 6:
        tcp = struct.pack("!HHIIHHHH", f.tp_src, f.tp_dst, 0, 0, ((5 << 12) | f.tcp_flags) & 0xFFFF, 0, 0, 0)
        return tcp if f.tcp_flags & 0x007 else tcp + L7_PAYLOAD
    if p == 17:
        return struct.pack("!HHHH", f.tp_src, f.tp_dst, 8 + len(L7_PAYLOAD), 0) + L7_PAYLOAD
    if p == 132:
        return struct.pack("!HHII", f.tp_src, f.tp_dst, 0, 0)
    if p == 1:
        icmp = struct.pack("!BBHI", f.tp_src, f.tp_dst, 0, 0)
        return icmp + L7_PAYLOAD if f.tp_dst == 0 and f.tp_src in (0, 8) else icmp
    if p == 2:
        return struct.pack("!BBH4s", f.tp_src, f.tp_dst, 0, bytes(4))
    if p == 58:
        icmp = struct.pack("!BBHI", f.tp_src, f.tp_dst, 0, f.igmp_group)
        if f.tp_dst == 0 and f.tp_src in (135, 136):
            icmp += f.nd_target
            if f.arp_sha != _MAC0:
                icmp += b"\x01\x01" + f.arp_sha
            if f.arp_tha != _MAC0:
                icmp += b"\x02\x01" + f.arp_tha
        elif f.tp_dst == 0 and f.tp_src in (128, 129):
            icmp += L7_PAYLOAD
        return icmp
    return b""


def _l4_csum(f: ComposeFlow, l4: bytes, src: bytes, dst: bytes) -> bytes:
    if not l4:
        return l4
    p = f.nw_proto
    pseudo = pseudo_header_sum(src, dst, p, len(l4))
    if p == 6:
        off, c = 16, _csum(l4, pseudo)
    elif p == 17:
        off, c = 6, _csum(l4, pseudo) or 0xFFFF
    elif p in (1, 2):
        off, c = 2, _csum(l4)
    elif p == 58:
        off, c = 2, _csum(l4, pseudo)
    else:
        return l4
    return l4[:off] + c.to_bytes(2, "big") + l4[off + 2:]


def flow_compose(f: ComposeFlow, vlan_limit: int = _VLAN_LIMIT) -> bytes:
    """The frame Open vSwitch's flow_compose builds for a flow (as netdev-dummy/receive calls it): every header
    the flow has with the flow's values (zero for what it leaves out), lengths and checksums computed, and
    :data:`L7_PAYLOAD` where Open vSwitch puts it."""
    if f.dl_type == _DL_TYPE_NONE:
        return f.dl_dst + f.dl_src + struct.pack("!H", 14)
    frame = f.dl_dst + f.dl_src
    for tpid, tci in f.vlans[:vlan_limit or 2]:
        if tci & _VLAN_CFI:
            frame += struct.pack("!HH", tpid, tci & ~_VLAN_CFI)
    frame += struct.pack("!H", f.dl_type)
    if f.dl_type == 0x0800:
        l4 = _compose_l4(f)
        frag = (0x2000 | (100 if f.nw_frag & _FRAG_LATER else 0)) if f.nw_frag & _FRAG_ANY else 0
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, f.nw_tos, 20 + len(l4), 0, frag, f.nw_ttl, f.nw_proto, 0,
                         f.nw_src, f.nw_dst)
        ip = ip[:10] + _csum(ip).to_bytes(2, "big") + ip[12:]
        frame += ip + _l4_csum(f, l4, f.nw_src, f.nw_dst)
    elif f.dl_type == 0x86DD:
        l4 = _compose_l4(f)
        head = (6 << 28) | (f.nw_tos << 20) | f.ipv6_label
        frame += struct.pack("!IHBB16s16s", head, len(l4), f.nw_proto, f.nw_ttl, f.ipv6_src, f.ipv6_dst)
        frame += _l4_csum(f, l4, f.ipv6_src, f.ipv6_dst)
    elif f.dl_type in (0x0806, 0x8035):
        op = f.nw_proto
        if op in (1, 2):
            frame += struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, op, f.arp_sha, f.nw_src, f.arp_tha, f.nw_dst)
        else:
            frame += struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + bytes(20)
    elif f.dl_type in (0x8847, 0x8848):
        n = 1
        while n < 3 and not f.mpls_lse[n - 1] & 0x100:
            n += 1
        frame += b"".join(struct.pack("!I", lse) for lse in f.mpls_lse[:n])
    return frame


def _hex_frame(text: str) -> bytes | None:
    """Hex bytes, optionally separated by white space, as Open vSwitch reads them; None if not that or shorter than
    an Ethernet header."""
    out = bytearray()
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in _C_SPACE:
            i += 1
        if i >= n:
            break
        pair = text[i:i + 2]
        if len(pair) < 2 or any(c not in "0123456789abcdefABCDEF" for c in pair):
            return None
        out.append(int(pair, 16))
        i += 2
    return bytes(out) if len(out) >= 14 else None


def parse_packet(text: str, ofctl_syntax: bool = False, vlan_limit: int = _VLAN_LIMIT) -> bytes:
    """A frame from the PACKET text of ``netdev-dummy/receive``: hex bytes (white space allowed between them, at
    least an Ethernet header) or a flow key in datapath syntax, composed byte for byte as Open vSwitch 3.1 does.
    Raises ValueError with Open vSwitch's message (``syntax error at REST``, or what is wrong with the key).

    With ``ofctl_syntax`` (not in Open vSwitch; for tests that build frames in process), text that is not a
    datapath key may also be ovs-ofctl match syntax, or hex with a ``0x`` prefix.  ``vlan_limit`` is the
    switch's ``other_config:vlan-limit`` (Open vSwitch composes only that many VLAN headers; 0 means 2)."""
    frame = _hex_frame(text)
    if frame is not None:
        return frame
    try:
        return flow_compose(odp_key_to_flow(text, vlan_limit), vlan_limit)
    except ValueError as e:
        if not ofctl_syntax:
            raise
        err = e
    s = text.strip()
    if s.startswith("0x") and (frame := _hex_frame(s[2:])) is not None:
        return frame
    try:
        match = parse_match(s).match
    except (MatchParseError, ValueError):
        raise err from None
    if not match.fields():
        raise err
    return flow_compose(match_to_flow(match), vlan_limit)


def _val(m: Match, name: str, default: int = 0) -> int:
    v, mask = m.get(F.BY_NAME[name])
    return v if mask else default


def match_to_flow(m: Match) -> ComposeFlow:
    """The flow an ovs-ofctl match describes (unset fields zero, TTL 64), for :func:`flow_compose`."""
    f = ComposeFlow()
    f.dl_src, f.dl_dst = _val(m, "eth_src").to_bytes(6, "big"), _val(m, "eth_dst").to_bytes(6, "big")
    tci = _val(m, "vlan_tci")
    if tci & _VLAN_CFI:
        f.vlans.append((0x8100, tci))
    f.dl_type = _val(m, "eth_type") or _DL_TYPE_NONE
    f.nw_proto = _val(m, "nw_proto")
    f.nw_tos = (_val(m, "nw_tos") & 0xFC) | (_val(m, "nw_ecn") & 3)
    f.nw_ttl = _val(m, "nw_ttl", 64)
    if f.dl_type == 0x0800:
        f.nw_src, f.nw_dst = _val(m, "ip_src").to_bytes(4, "big"), _val(m, "ip_dst").to_bytes(4, "big")
    elif f.dl_type == 0x86DD:
        f.ipv6_src, f.ipv6_dst = _val(m, "ipv6_src").to_bytes(16, "big"), _val(m, "ipv6_dst").to_bytes(16, "big")
        f.ipv6_label = _val(m, "ipv6_label")
    elif f.dl_type in (0x0806, 0x8035):
        f.nw_proto = _val(m, "arp_op", 1)
        f.nw_src, f.nw_dst = _val(m, "arp_spa").to_bytes(4, "big"), _val(m, "arp_tpa").to_bytes(4, "big")
        f.arp_sha, f.arp_tha = _val(m, "arp_sha").to_bytes(6, "big"), _val(m, "arp_tha").to_bytes(6, "big")
    if f.nw_proto == 6:
        f.tp_src, f.tp_dst, f.tcp_flags = _val(m, "tcp_src"), _val(m, "tcp_dst"), _val(m, "tcp_flags")
    elif f.nw_proto == 17:
        f.tp_src, f.tp_dst = _val(m, "udp_src"), _val(m, "udp_dst")
    elif f.nw_proto == 1 and f.dl_type == 0x0800:
        f.tp_src, f.tp_dst = _val(m, "icmp_type"), _val(m, "icmp_code")
    return f
