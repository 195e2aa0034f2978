"""Tunnel vports: the ``vxlan``, ``geneve`` and ``gre`` netdevs and the parsing of their options.

A tunnel interface has no device behind it, like a patch port: nothing is received from or sent to the netdev
itself.  Its options say how packets output to it are encapsulated and which encapsulated packets belong to it;
the OpenFlow layer (``pyvswitch.ofproto.tunnel``) reads them from :attr:`VportNetdev.config`, the datapath
encapsulates with ``tnl_push`` and decapsulates with ``tnl_pop`` on a datapath port shared by every vport of one
type and UDP port (:attr:`VportNetdev.dp_port_name`: ``vxlan_sys_4789``, ``genev_sys_6081``, ``gre_sys``).

Options (ovs-vswitchd.conf.db(5)), parsed by :func:`parse_tunnel_options` as Open vSwitch 3.1 parses them (its
texts were checked against ``ovs-vswitchd --enable-dummy``):

* ``remote_ip``: an IPv4 or IPv6 address, or ``flow`` (the flow's ``tun_dst``/``tun_ipv6_dst``).  Required; a
  multicast address is refused, and so is ``::``, which is no address.  ``local_ip``: an address written in the
  same family, or ``flow`` (only with ``remote_ip=flow``); ``::`` counts as absent.  An IPv4-mapped IPv6 address
  (``::ffff:1.1.2.92``) is the IPv4 address: the tunnel is IPv4.  (pyvswitch also refuses a mapped multicast
  address, which Open vSwitch misses.)  An address that does not parse is a warning and counts as absent.
* ``key`` sets both ``in_key`` and ``out_key``; each is a number (decimal, ``0x`` hex, ``0`` octal) or
  ``flow``.  Without any, GRE sends no key field and VXLAN/Geneve send VNI 0; the port receives packets with
  key 0.
* ``dst_port`` (default 4789 VXLAN, 6081 Geneve), ``tos`` (``inherit`` or a DSCP value: the ECN bits must be 0;
  else a warning and 0), ``ttl`` (``inherit`` or a number taken modulo 256; 0 means the default 64),
  ``df_default`` (``false`` clears DF), ``csum`` (``true``), ``egress_pkt_mark``, ``exts=gbp`` (VXLAN group
  policy), ``packet_type`` (``legacy_l2``; ``ptap`` is accepted for VXLAN and Geneve, which carry Ethernet
  frames only; ``legacy_l3`` is refused for VXLAN and Geneve with Open vSwitch's error, and pyvswitch refuses
  ``legacy_l3``/``ptap`` for GRE, whose layer-3 mode it does not implement).
* Numbers are read with C's ``strtoull``/``strtol``/``strtoul``/``atoi`` exactly where Open vSwitch uses each
  (:func:`_c_strtol`): trailing junk is ignored except in ``tos``, and an out-of-range value saturates at the C
  type's limit before it is cut to the option's width, so no text, however long, is an exception.
* Unknown options are warnings.  Warnings are logged; errors raise :class:`NetdevError` whose text (every line
  gathered, warnings first, as Open vSwitch does) goes to the Interface ``error`` column.

Statistics: the netdev's counters are the OpenFlow vport's (``rx_*`` packets received through the tunnel and
``tx_*`` packets sent to it, counted by the OpenFlow layer from the megaflows' statistics, as Open vSwitch's xlate
cache does).  :attr:`VportNetdev.status` is the Interface ``status`` column (``tunnel_egress_iface`` and its
carrier), kept up to date by the daemon from the route to ``remote_ip``.
"""

from __future__ import annotations

import ipaddress
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass

from pyvswitch.util.cnum import strtoul

from .native_tnl import DEFAULT_DST_PORTS, dp_port_name
from .netdev import Netdev, NetdevError, register

__all__ = ["DEFAULT_DST_PORTS", "TUNNEL_TYPES", "TunnelConfig", "VportNetdev", "parse_tunnel_options"]

log = logging.getLogger("pyvswitch.netdev_vport")

TUNNEL_TYPES = tuple(DEFAULT_DST_PORTS)     # ("vxlan", "geneve", "gre")
DEFAULT_TTL = 64

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_KNOWN = frozenset(("remote_ip", "local_ip", "key", "in_key", "out_key", "dst_port", "tos", "ttl", "df_default",
                    "csum", "packet_type", "egress_pkt_mark"))


@dataclass(frozen=True)
class TunnelConfig:
    """A tunnel vport's parsed options.  Addresses are None when absent or ``flow`` (see the ``*_flow`` flags);
    ``in_key``/``out_key`` are 0 when absent (``*_key_present`` false) or ``flow``; ``tos``/``ttl`` are the
    configured values (ignored when ``*_inherit``)."""

    type: str
    remote_ip: IPAddress | None = None
    remote_flow: bool = False
    local_ip: IPAddress | None = None
    local_flow: bool = False
    in_key: int = 0
    in_key_present: bool = False
    in_key_flow: bool = False
    out_key: int = 0
    out_key_present: bool = False
    out_key_flow: bool = False
    dst_port: int = 0
    tos: int = 0
    tos_inherit: bool = False
    ttl: int = DEFAULT_TTL
    ttl_inherit: bool = False
    dont_fragment: bool = True
    csum: bool = False
    packet_type: str = "legacy_l2"
    egress_pkt_mark: int | None = None
    gbp: bool = False

    @property
    def dp_port_name(self) -> str:
        """The shared datapath port this vport receives on and is output through."""
        return dp_port_name(self.type, self.dst_port)

    @property
    def ipv6(self) -> bool:
        """Whether the configured remote address is IPv6 (False for ``remote_ip=flow``)."""
        return isinstance(self.remote_ip, ipaddress.IPv6Address)

    def describe(self) -> str:
        """The options as ``dpif/show`` prints them: the configuration as Open vSwitch reconstructs it from what
        it parsed (defaults left out), sorted by name.  As in Open vSwitch, ``in_key=0 out_key=flow`` shows as
        ``key=0`` (a ``flow`` key counts as the value 0 there)."""
        opts: dict[str, str] = {}
        if self.remote_ip is not None:
            opts["remote_ip"] = str(self.remote_ip)
        elif self.remote_flow:
            opts["remote_ip"] = "flow"
        if self.local_ip is not None:
            opts["local_ip"] = str(self.local_ip)
        elif self.local_flow:
            opts["local_ip"] = "flow"
        if self.in_key_flow and self.out_key_flow:
            opts["key"] = "flow"
        elif self.in_key_present and self.out_key_present and self.in_key == self.out_key:
            opts["key"] = str(self.in_key)
        else:
            if self.in_key_flow:
                opts["in_key"] = "flow"
            elif self.in_key_present:
                opts["in_key"] = str(self.in_key)
            if self.out_key_flow:
                opts["out_key"] = "flow"
            elif self.out_key_present:
                opts["out_key"] = str(self.out_key)
        if self.ttl_inherit:
            opts["ttl"] = "inherit"
        elif self.ttl != DEFAULT_TTL:
            opts["ttl"] = str(self.ttl)
        if self.tos_inherit:
            opts["tos"] = "inherit"
        elif self.tos:
            opts["tos"] = f"{self.tos:#x}"
        if self.type != "gre" and self.dst_port != DEFAULT_DST_PORTS[self.type]:
            opts["dst_port"] = str(self.dst_port)
        if self.csum:
            opts["csum"] = "true"
        if self.packet_type != "legacy_l2":
            opts["packet_type"] = self.packet_type
        if not self.dont_fragment:
            opts["df_default"] = "false"
        if self.egress_pkt_mark is not None:
            opts["egress_pkt_mark"] = str(self.egress_pkt_mark)
        if self.gbp:
            opts["exts"] = "gbp"
        return ", ".join(f"{k}={v}" for k, v in sorted(opts.items()))

    def match_text(self, dp_port: int) -> str:
        """How Open vSwitch names the configuration in its "same config" warning."""
        src = "flow" if self.local_flow else str(self.local_ip or "::")
        dst = "flow" if self.remote_flow else str(self.remote_ip)
        key = "flow" if self.in_key_flow else str(self.in_key)
        return f"{src}->{dst}, key={key}, {self.packet_type}, dp port={dp_port}"

    def receive_match(self) -> tuple[object, ...]:
        """What identifies the packets this vport receives (besides its datapath port): two vports with equal
        matches on one datapath port cannot both exist.  The send-side options (``out_key``, ``tos``, ``ttl``,
        ``egress_pkt_mark``...) are not part of it, as they are not of Open vSwitch's ``struct tnl_match``."""
        return (None if self.in_key_flow else self.in_key, self.in_key_flow,
                None if self.local_flow else self.local_ip, self.local_flow,
                None if self.remote_flow else self.remote_ip, self.remote_flow)


_UNSPECIFIED = ipaddress.IPv6Address("::")


def _parse_ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _c_strtol(text: str, base: int, unsigned: bool) -> tuple[int, bool]:
    """C's ``strtol`` (``unsigned``: ``strtoul``/``strtoull``) on all of ``text``: (value, whether the number
    ended the text, ``*endptr == '\\0'``); no digits give 0, "ended" only for the empty text."""
    v, end, _ = strtoul(text, 0, base, signed=not unsigned)
    if v is None:
        return 0, not text
    return v, end == len(text)


def _c_int(value: int) -> int:
    """A C ``long`` converted to ``int`` (32 bits, two's complement, as every compiler Open vSwitch supports)."""
    return ((value + (1 << 31)) & 0xFFFF_FFFF) - (1 << 31)


def _parse_key(text: str) -> tuple[int, bool]:
    """A key option: (value, is ``flow``).  As Open vSwitch reads it, with ``strtoull(text, NULL, 0)``: ``0x``
    hex, ``0`` octal, trailing junk ignored, nothing numeric is 0, and a value past 2**64 - 1 saturates."""
    if text == "flow":
        return 0, True
    return _c_strtol(text, 0, unsigned=True)[0], False


def _atoi(text: str) -> int:
    """C's ``atoi`` (glibc: ``(int) strtol(text, NULL, 10)``): the leading decimal number of ``text``, 0 when
    there is none; a number out of ``long``'s range saturates before the conversion to ``int``."""
    return _c_int(_c_strtol(text, 10, unsigned=False)[0])


def parse_tunnel_options(name: str, type_: str, options: Mapping[str, str]) -> TunnelConfig:
    """Parse a tunnel interface's ``options``: see the module documentation.  Raises :class:`NetdevError` with
    Open vSwitch's text when the configuration cannot work; logs the warnings."""
    if type_ not in TUNNEL_TYPES:
        raise NetdevError(f"{name}: not a tunnel type: {type_}")
    errors: list[str] = []
    fatal = False
    cfg: dict[str, object] = {"type": type_, "dst_port": DEFAULT_DST_PORTS[type_]}
    keys: dict[str, str | None] = {"key": None, "in_key": None, "out_key": None}
    # The address family each address was written in (4 or 6), which Open vSwitch compares, even for "::".
    written: dict[str, int] = {}
    for opt, value in sorted(options.items()):
        if opt in ("remote_ip", "local_ip"):
            prefix = "remote" if opt == "remote_ip" else "local"
            if value == "flow":
                cfg[f"{prefix}_flow"] = True
                continue
            ip = _parse_ip(value)
            if ip is None:
                errors.append(f"{name}: bad {type_} '{opt}'")
                continue
            written[opt] = ip.version
            if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
                # An IPv4 tunnel: Open vSwitch keeps every address as IPv6, IPv4 ones mapped, and sends IPv4
                # for a mapped one.
                ip = ip.ipv4_mapped
            if opt == "remote_ip" and ip.is_multicast:
                errors.append(f"{name}: multicast remote_ip={value} not allowed")
                fatal = True
            if ip == _UNSPECIFIED:
                continue    # "::" is no address: Open vSwitch takes it as unset (remote_ip: an error below).
            cfg[opt] = ip
        elif opt in keys:
            keys[opt] = value
        elif opt == "dst_port" and type_ != "gre":
            # GRE has no UDP port: there dst_port is an unknown argument (below), as in Open vSwitch.
            port = _atoi(value)
            if 0 < port < 65536:
                cfg["dst_port"] = port
        elif opt == "tos":
            if value == "inherit":
                cfg["tos_inherit"] = True
                continue
            # strtol(value, &end, 0) into an int: the whole text must be the number (an empty one is 0), and
            # the value must be a DSCP (ECN bits clear).
            num, whole = _c_strtol(value, 0, unsigned=False)
            tos = _c_int(num)
            if whole and 0 <= tos <= 0xFC and not tos & 0x03:
                cfg["tos"] = tos
            else:
                errors.append(f"{name}: invalid TOS {value}")
        elif opt == "ttl":
            if value == "inherit":
                cfg["ttl_inherit"] = True
            else:
                cfg["ttl"] = (_atoi(value) & 0xFF) or DEFAULT_TTL
        elif opt == "df_default":
            cfg["dont_fragment"] = value != "false"
        elif opt == "csum":
            cfg["csum"] = value == "true"
        elif opt == "egress_pkt_mark":
            # strtoul(value, NULL, 10) stored in 32 bits.
            cfg["egress_pkt_mark"] = _c_strtol(value, 10, unsigned=True)[0] & 0xFFFF_FFFF
        elif opt == "packet_type":
            if value not in ("legacy_l2", "legacy_l3", "ptap"):
                errors.append(f"{name}: unknown packet_type '{value}'")
                fatal = True
            elif value == "legacy_l3" and type_ in ("vxlan", "geneve"):
                what = "VXLAN (without GPE)" if type_ == "vxlan" else type_
                errors.append(f"{name}: legacy_l3 configured on {what} tunnel that cannot carry L3 traffic")
                fatal = True
            elif value != "legacy_l2" and type_ == "gre":
                # Open vSwitch carries layer-3 packets in GRE; pyvswitch's datapath does not (yet).
                errors.append(f"{name}: packet_type={value} is not supported by pyvswitch on gre tunnels "
                              f"(only legacy_l2)")
                fatal = True
            else:
                cfg["packet_type"] = value
        elif opt == "exts" and type_ == "vxlan":
            for ext in value.split(","):
                if ext == "gbp":
                    cfg["gbp"] = True
                else:
                    errors.append(f"{name}: unknown extension '{ext}'")
        elif opt not in _KNOWN or opt == "dst_port":
            errors.append(f"{name}: unknown {type_} argument '{opt}'")
    for which in ("in_key", "out_key"):
        text = keys[which] if keys[which] is not None else keys["key"]
        if text is not None:
            kval, flow = _parse_key(text)
            cfg[which], cfg[f"{which}_present"], cfg[f"{which}_flow"] = kval, True, flow
    remote = cfg.get("remote_ip")
    local = cfg.get("local_ip")
    if remote is None and not cfg.get("remote_flow"):
        errors.append(f"{name}: {type_} type requires valid 'remote_ip' argument")
        fatal = True
    elif (len(written) == 2 and written["remote_ip"] != written["local_ip"]) or (
            remote is not None and local is not None and type(remote) is not type(local)):
        # Open vSwitch compares the families the addresses were written in; pyvswitch also refuses an IPv6
        # address with an IPv4-mapped one, which would make an IPv4 header with an IPv6 address.
        errors.append(f"{name}: 'remote_ip' and 'local_ip' has to be of the same address family")
        fatal = True
    elif cfg.get("local_flow") and not cfg.get("remote_flow"):
        errors.append(f"{name}: {type_} type requires 'remote_ip=flow' with 'local_ip=flow'")
        fatal = True
    if errors:
        text = "\n".join(errors)
        log.warning("%s", text)
        if fatal:
            raise NetdevError(text)
    return TunnelConfig(**cfg)  # type: ignore[arg-type]


class VportNetdev(Netdev):
    """A ``vxlan``, ``geneve`` or ``gre`` interface: its parsed :attr:`config`, its counters (kept by the
    OpenFlow layer) and its :attr:`status`."""

    stats_names = ("rx_packets", "rx_bytes", "tx_packets", "tx_bytes")

    def __init__(self, name: str, type_: str) -> None:
        super().__init__(name, type_)
        self.config = TunnelConfig(type_)
        #: The Interface ``status`` column (the daemon fills it from the route to the remote address).
        self.status: dict[str, str] = {}
        # A random locally administered unicast address, as Open vSwitch gives its vports.
        b = random.getrandbits(48) & ~(1 << 40) | (1 << 41)
        self.mac = ":".join(f"{(b >> s) & 0xff:02x}" for s in range(40, -8, -8))

    def set_config(self, options: Mapping[str, str]) -> None:
        self.config = parse_tunnel_options(self.name, self.type, options)

    @property
    def dp_port_name(self) -> str:
        return self.config.dp_port_name

    def send(self, frame: bytes, vnet: bytes | None = None) -> bool:
        # Packets reach a tunnel through the datapath's tnl_push, never through the netdev.
        self.stats.tx_dropped += 1
        return False

    def close(self) -> None:
        pass

    def get_etheraddr(self) -> str:
        return self.mac

    def describe(self) -> str:
        """How ``dpif/show`` describes the port: ``vxlan: key=456, remote_ip=1.1.2.92``."""
        opts = self.config.describe()
        return f"{self.type}: {opts}" if opts else self.type

    def credit(self, direction: str, packets: int, nbytes: int) -> None:
        """Count ``packets`` (``nbytes`` bytes) received through (``rx``) or sent to (``tx``) the tunnel."""
        if direction == "rx":
            self.stats.rx_packets += packets
            self.stats.rx_bytes += nbytes
        else:
            self.stats.tx_packets += packets
            self.stats.tx_bytes += nbytes


for _t in TUNNEL_TYPES:
    register(_t, VportNetdev)
