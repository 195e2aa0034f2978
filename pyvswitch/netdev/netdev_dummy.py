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

:func:`parse_packet` turns the PACKET argument of ``netdev-dummy/receive`` into a frame: hex bytes, or a flow (in
datapath syntax, as Open vSwitch takes it, or in ovs-ofctl match syntax) composed into a frame by
:func:`flow_compose` byte-for-byte as Open vSwitch composes it.
"""

from __future__ import annotations

import itertools
import re
import struct
import time
from collections import deque
from collections.abc import Mapping
from typing import BinaryIO

from pyvswitch.flow import fields as F
from pyvswitch.flow.match import Match
from pyvswitch.flow.match_text import MatchParseError, parse_match
from pyvswitch.packet import build
from pyvswitch.packet.arp import arp
from pyvswitch.packet.checksum import icmp4_checksum
from pyvswitch.packet.ethernet import VlanTag, ethernet
from pyvswitch.packet.ipv4 import ipv4
from pyvswitch.packet.ipv6 import ipv6
from pyvswitch.packet.l4 import tcp

from .netdev import Netdev, NetdevError, register

__all__ = ["DummyNetdev", "PcapWriter", "flow_compose", "odp_to_match_text", "parse_packet", "read_pcap"]

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

    def send(self, frame: bytes) -> bool:
        self.stats.tx_packets += 1
        self.stats.tx_bytes += len(frame)
        self.sent.append(frame)
        if self._tx_pcap is not None:
            self._tx_pcap.write(frame)
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

_HEX = re.compile(r"^(0x)?([0-9a-fA-F]{2})+$")


def parse_packet(text: str) -> bytes:
    """A frame from ``netdev-dummy/receive`` text: hex digits (at least an Ethernet header), a flow in ovs-ofctl
    match syntax, or a flow in datapath syntax (``eth(...),eth_type(...),ipv4(...)``).  Raises ValueError with Open vSwitch's message (``syntax error at TEXT``)."""
    s = text.strip()
    if _HEX.match(s):
        frame = bytes.fromhex(s.removeprefix("0x"))
        if len(frame) >= 14:
            return frame
    try:
        match = parse_match(odp_to_match_text(s) if "(" in s else s).match
    except (MatchParseError, ValueError):
        raise ValueError(f"syntax error at {text}") from None
    if not match.fields():
        raise ValueError(f"syntax error at {text}")
    return flow_compose(match)


# Datapath flow syntax (``in_port(1),eth(src=...,dst=...),eth_type(0x0800),ipv4(...),udp(...)``), as Open vSwitch's
# netdev-dummy/receive takes it, translated key by key into ovs-ofctl match syntax.  Metadata keys that do not
# change the frame are skipped; a masked value ``v/m`` contributes ``v``.
_ODP_SKIP = {"in_port", "skb_priority", "skb_mark", "recirc_id", "dp_hash", "ct_state", "ct_zone", "ct_mark",
             "ct_label", "packet_type", "tunnel", "ufid"}
_ODP_ATTRS: dict[str, dict[str, str | None]] = {
    "eth": {"src": "dl_src", "dst": "dl_dst"},
    "vlan": {"vid": "dl_vlan", "pcp": "dl_vlan_pcp", "cfi": None, "tpid": None},
    "ipv4": {"src": "nw_src", "dst": "nw_dst", "proto": "nw_proto", "tos": "nw_tos", "ttl": "nw_ttl", "frag": None},
    "ipv6": {"src": "ipv6_src", "dst": "ipv6_dst", "label": "ipv6_label", "proto": "nw_proto", "tclass": "nw_tos",
             "hlimit": "nw_ttl", "frag": None},
    "tcp": {"src": "tp_src", "dst": "tp_dst"},
    "udp": {"src": "tp_src", "dst": "tp_dst"},
    "sctp": {"src": "tp_src", "dst": "tp_dst"},
    "icmp": {"type": "icmp_type", "code": "icmp_code"},
    "icmpv6": {"type": "icmpv6_type", "code": "icmpv6_code"},
    "arp": {"sip": "arp_spa", "tip": "arp_tpa", "op": "arp_op", "sha": "arp_sha", "tha": "arp_tha"},
}


def _split_top(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    out, depth, start = [], 0, 0
    for i, c in enumerate(text):
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth < 0:
                raise ValueError("unbalanced parentheses")
        elif c == "," and depth == 0:
            out.append(text[start:i].strip())
            start = i + 1
    if depth:
        raise ValueError("unbalanced parentheses")
    out.append(text[start:].strip())
    return [x for x in out if x]


def odp_to_match_text(text: str) -> str:
    """Translate a datapath flow into ovs-ofctl match text.  Raises ValueError for what it does not know."""
    items: list[str] = []
    for part in _split_top(text):
        name, paren, rest = part.partition("(")
        if not paren or not rest.endswith(")"):
            raise ValueError(f"bad key {part}")
        inner = rest[:-1]
        if name in _ODP_SKIP:
            continue
        if name == "encap":
            items.append(odp_to_match_text(inner))
        elif name == "eth_type":
            value = inner.split("/")[0]
            if int(value, 0) not in (0x8100, 0x88A8):   # The tag itself comes from vlan().
                items.append(f"dl_type={value}")
        elif name == "tcp_flags":
            items.append(f"tcp_flags={inner.split('/')[0]}")
        elif name in _ODP_ATTRS:
            attrs = _ODP_ATTRS[name]
            for kv in _split_top(inner):
                k, eq, v = kv.partition("=")
                if not eq or k not in attrs:
                    raise ValueError(f"bad attribute {kv}")
                field = attrs[k]
                if field is None:
                    continue
                v = v.split("/")[0]
                if field == "nw_tos":
                    tos = int(v, 0)
                    items.append(f"nw_tos={tos & 0xFC},nw_ecn={tos & 3}")
                else:
                    items.append(f"{field}={v}")
        else:
            raise ValueError(f"unknown key {name}")
    return ",".join(i for i in items if i)


def _val(m: Match, name: str, default: int = 0) -> int:
    f = F.BY_NAME[name]
    v, mask = m.get(f)
    return v if mask else default


#: The L4 payload Open vSwitch's netdev-dummy/receive composes after a TCP, UDP, SCTP or ICMP header: 64 bytes
#: counting up from 0 (seen on a real ovs-vswitchd 3.1).
L7_PAYLOAD = bytes(range(64))


def flow_compose(m: Match) -> bytes:
    """Build the frame a flow describes, as Open vSwitch's flow_compose does for netdev-dummy/receive: every header
    the flow implies with the flow's values, zeros for what it leaves out (TTL 64), checksums computed, and
    :data:`L7_PAYLOAD` after an L4 header.  ``in_port`` is ignored."""
    src = _val(m, "eth_src").to_bytes(6, "big")
    dst = _val(m, "eth_dst").to_bytes(6, "big")
    vlans: list[VlanTag] = []
    tci = _val(m, "vlan_tci")
    if tci & 0x1000:
        vlans.append(VlanTag(0x8100, tci >> 13, 0, tci & 0xFFF))
    eth_type = _val(m, "eth_type")
    if eth_type == 0x0800:
        proto = _val(m, "nw_proto")
        ip_src, ip_dst = _val(m, "ip_src").to_bytes(4, "big"), _val(m, "ip_dst").to_bytes(4, "big")
        tos = (_val(m, "nw_tos") & 0xFC) | (_val(m, "nw_ecn") & 3)
        ttl = _val(m, "nw_ttl", 64)
        if proto == 17:
            return build.udp4_frame(eth_src=src, eth_dst=dst, ip_src=ip_src, ip_dst=ip_dst,
                                    sport=_val(m, "udp_src"), dport=_val(m, "udp_dst"), vlans=vlans,
                                    ttl=ttl, tos=tos, payload=L7_PAYLOAD)
        if proto == 6:
            return build.tcp4_frame(eth_src=src, eth_dst=dst, ip_src=ip_src, ip_dst=ip_dst,
                                    sport=_val(m, "tcp_src"), dport=_val(m, "tcp_dst"), window=0,
                                    tcp_flags=_val(m, "tcp_flags"), vlans=vlans, ttl=ttl, tos=tos,
                                    payload=L7_PAYLOAD)
        if proto == 1:
            icmp = _with_csum(bytes([_val(m, "icmp_type"), _val(m, "icmp_code")]) + bytes(6) + L7_PAYLOAD)
            return ethernet(dst, src, 0x0800, ipv4(ip_src, ip_dst, 1, icmp, ttl=ttl, tos=tos), vlans)
        return ethernet(dst, src, 0x0800, ipv4(ip_src, ip_dst, proto, b"", ttl=ttl, tos=tos), vlans)
    if eth_type == 0x86DD:
        proto = _val(m, "nw_proto")
        s6, d6 = _val(m, "ipv6_src").to_bytes(16, "big"), _val(m, "ipv6_dst").to_bytes(16, "big")
        if proto == 17:
            return build.udp6_frame(eth_src=src, eth_dst=dst, ip_src=s6, ip_dst=d6, sport=_val(m, "udp_src"),
                                    dport=_val(m, "udp_dst"), vlans=vlans, payload=L7_PAYLOAD)
        if proto == 6:
            seg = tcp(_val(m, "tcp_src"), _val(m, "tcp_dst"), L7_PAYLOAD, flags=_val(m, "tcp_flags"), window=0,
                      src_ip=s6, dst_ip=d6)
            return ethernet(dst, src, 0x86DD, ipv6(s6, d6, 6, seg), vlans)
        return ethernet(dst, src, 0x86DD, ipv6(s6, d6, proto, b""), vlans)
    if eth_type == 0x0806:
        body = arp(_val(m, "arp_op", 1), _val(m, "arp_sha").to_bytes(6, "big"),
                   _val(m, "arp_spa").to_bytes(4, "big"), _val(m, "arp_tha").to_bytes(6, "big"),
                   _val(m, "arp_tpa").to_bytes(4, "big"))
        return ethernet(dst, src, 0x0806, body, vlans)
    return ethernet(dst, src, eth_type, b"", vlans)


def _with_csum(icmp: bytes) -> bytes:
    """An ICMPv4 message with its checksum filled in."""
    return icmp[:2] + icmp4_checksum(icmp).to_bytes(2, "big") + icmp[4:]
