"""``ofproto/trace``: a translation's report in Open vSwitch's text.

``format_trace(bridge_name, key, result, trace)`` gives what ``ovs-appctl ofproto/trace BRIDGE FLOW`` prints
for the flow key ``key`` translated into ``result`` with ``trace`` (``pyvswitch.ofproto.xlate``)::

    Flow: <the flow>

    bridge("br0")
    -------------
     0. <match>, priority P[, cookie C]
        <action>
         -> <detail>
         >> <warning>

    Final flow: unchanged | <the flow after translation>
    Megaflow: <the megaflow>
    Datapath actions: <actions>

and, when translation failed, ``Translation failed (ERROR), packet is dropped.`` after them.

``trace_packet(bridge, key, ...)`` is the whole of ``ofproto/trace``: that first pass, then, as Open vSwitch's
trace does, one more pass for every ``ct(...,table=N)`` recirculation, under a banner (``recirc(0x5) - resume
conntrack with default ct_state=trk|new``), with the key the datapath would give the packet back: the frozen
state's fields, ``recirc_id``, ``ct_state=trk|new``, the zone, the mark and label a commit set, and the addresses
and ports NAT would give it (a banner line shows them).  Other recirculations (a select group's ``dp_hash``) are
not followed, as in Open vSwitch.

Layout of the report: a table line is indented one step (4 columns) further when more lines follow it at its
level, and its actions two steps then; an action's lines under it (a group's buckets' actions) two steps
further; details and warnings sit one column right of the action indentation.  A patch port's peer bridge is a
``bridge("NAME")`` section (after an empty line) laid out like a table line, its tables at its own level.  That
is how Open vSwitch indents its report tree, and it is why a resubmit that is the last thing a table does prints
flat.

The megaflow line is the mask as the datapath holds it: ``recirc_id=N,eth,`` (every flow a packet enters the
datapath with) and the match; an untagged packet's key has no VLAN header, so VLAN bits of the mask are not
shown for it.  A decapsulated packet's outer TOS, which has no OpenFlow field, is shown as Open vSwitch shows it
(``tun_tos=N`` before ``tun_flags``).  The ``Flow:`` line of such a packet prints every tunnel field as Open
vSwitch 3.1 does, including ``tun_erspan_ver``, ``gtpu_flags`` and ``gtpu_msgtype``, which pyvswitch has no
tunnels for (always 0).
"""

from __future__ import annotations

import ipaddress

from pyvswitch.dpif import odp
from pyvswitch.flow import fields as F
from pyvswitch.flow.flow_format import format_flow
from pyvswitch.flow.match import Match
from pyvswitch.flow.match_text import format_match
from pyvswitch.ofproto.xlate import Recirculation, Trace, TraceNode, XlateBridge, XlateResult, translate

__all__ = ["format_megaflow", "format_nodes", "format_trace", "trace_packet"]

_VLAN_TCI = F.BY_NAME["vlan_tci"]
_DL_TYPE = F.BY_NAME["dl_type"]
_VLAN_CFI = 0x1000
_BANNER = "=" * 79
_CT_STATE_NEW_TRK = 0x21


def format_megaflow(key: int, mask: int) -> str:
    """The ``Megaflow:`` text for flow key ``key`` and mask ``mask``."""
    tci = F.get(key, _VLAN_TCI)
    if not tci & _VLAN_CFI and (F.get(key, _DL_TYPE) != 0x8100 or tci == 0):
        mask &= ~_VLAN_TCI.key_mask
    mask |= F.storage_mask("recirc_id") | F.storage_mask("packet_type")
    text = format_match(Match(key & mask, mask))
    tos_mask = F.storage_get(mask, "_tun_tos")
    if tos_mask:
        # The outer TOS of a decapsulated packet has no OpenFlow field, but Open vSwitch's megaflow shows it,
        # before the tunnel flags.
        tos = F.storage_get(key, "_tun_tos") & tos_mask
        item = f"tun_tos={tos}" if tos_mask == 0xFF else f"tun_tos={tos}/{tos_mask:#x}"
        parts = text.split(",")
        at = next((i for i, p in enumerate(parts) if p.startswith(("tun_flags=", "in_port="))), len(parts))
        text = ",".join([*parts[:at], item, *parts[at:]])
    return text


def format_nodes(nodes: list[TraceNode], level: int = 0) -> list[str]:
    out: list[str] = []
    for i, n in enumerate(nodes):
        more = i < len(nodes) - 1
        if n.kind == "table":
            out.append(" " * ((level + more) * 4) + n.text)
            out.extend(format_nodes(n.children, level + 2 * more))
            continue
        if n.kind == "bridge":
            pad = " " * ((level + more) * 4)
            out += ["", pad + n.text, pad + "-" * len(n.text)]
            out.extend(format_nodes(n.children, level + 2 * more))
            continue
        pad = " " * ((level + 1) * 4)
        if n.kind == "action":
            out.append(pad + n.text)
            out.extend(format_nodes(n.children, level + 2))
        elif n.kind == "detail":
            out.append(pad + " -> " + n.text)
        elif n.kind == "warn":
            out.append(pad + " >> " + n.text)
        else:
            out.append(pad + " >>>> " + n.text + " <<<<")
    return out


def _format_flow(key: int) -> str:
    """``format_flow`` with the present ``tun_metadataN`` fields after the tunnel flags, as Open vSwitch's trace
    prints them (in hex, leading zeros left out)."""
    text = format_flow(key)
    present = F.storage_get(key, "_tun_metadata_present")
    if not present:
        return text
    items = [f"tun_metadata{i}={F.get(key, _TUN_MD[i]):#x}" for i in range(64) if present >> i & 1]
    at = text.find(",in_port=")
    return text[:at] + "," + ",".join(items) + text[at:] if at >= 0 else text


_TUN_MD = [F.BY_NAME[f"tun_metadata{i}"] for i in range(64)]


def format_trace(bridge_name: str, key: int, result: XlateResult, trace: Trace) -> str:
    header = f'bridge("{bridge_name}")'
    lines = [f"Flow: {_format_flow(key)}", "", header, "-" * len(header)]
    lines.extend(format_nodes(trace.nodes))
    final = "unchanged" if result.final_key == key else _format_flow(result.final_key)
    lines += ["", f"Final flow: {final}", f"Megaflow: {format_megaflow(key, result.wc.mask)}",
              f"Datapath actions: {odp.format_actions(result.actions)}"]
    if result.slow_path == "action":
        lines += ["This flow is handled by the userspace slow path because it:",
                  "  - Uses action(s) not supported by datapath."]
    if result.error:
        lines.append(f"Translation failed ({result.error}), packet is dropped.")
    return "\n".join(lines) + "\n"


def _nat_fields(key: int, v6: bool) -> str:
    def ip(name: str) -> str:
        v = F.storage_get(key, name)
        return f"[{ipaddress.IPv6Address(v)}]" if v6 else str(ipaddress.IPv4Address(v))
    src, dst = ("ipv6_src", "ipv6_dst") if v6 else ("nw_src", "nw_dst")
    return (f"{src}={ip(src)},tp_src={F.storage_get(key, 'tp_src')},{dst}={ip(dst)},"
            f"tp_dst={F.storage_get(key, 'tp_dst')}")


def _resume_key(state_key: int, r: Recirculation) -> tuple[int, list[str]]:
    """The key a packet comes back from the conntrack recirculation ``r`` with, and the banner's NAT lines."""
    k = F.storage_put(state_key, "recirc_id", r.id)
    k = F.storage_put(k, "ct_state", _CT_STATE_NEW_TRK)
    k = F.storage_put(k, "ct_zone", r.zone)
    if r.commit and r.mark is not None:
        k = F.storage_put(k, "ct_mark", r.mark[0] & r.mark[1])
    if r.commit and r.label is not None:
        k = F.storage_put(k, "ct_label", r.label[0] & r.label[1])
    lines: list[str] = []
    nat = r.nat
    if nat is not None:
        v6 = F.storage_get(k, "dl_type") == 0x86DD
        before = after = ""
        if nat.kind is not None and nat.family is not None:
            before = _nat_fields(k, v6)
            side = "src" if nat.kind == "src" else "dst"
            k = F.storage_put(k, (("ipv6_" if v6 else "nw_") + side), nat.addr_min)
            if nat.port_min:
                k = F.storage_put(k, "tp_" + side, nat.port_min)
            after = _nat_fields(k, v6)
        lines = ["Replacing src/dst IP/ports to simulate NAT:", f" Initial flow: {before}",
                 f" Modified flow: {after}"]
    return k, lines


def trace_packet(bridge: XlateBridge, key: int, *, side_effects: bool = False, now: float | None = None,
                 dont_send: bool | None = None, max_passes: int = 32) -> str:
    """The whole ``ofproto/trace`` text for ``key`` entering ``bridge`` (see the module documentation);
    ``side_effects`` is ``-generate``."""
    tr = Trace()
    res = translate(bridge, key, side_effects=side_effects, trace=tr, now=now, dont_send=dont_send)
    out = format_trace(bridge.name, key, res, tr)
    queue = [r for r in res.recircs if r.kind == "ct"]
    passes = 1
    while queue and passes < max_passes:
        r = queue.pop(0)
        if bridge.recirc.get(r.id) is None:
            continue
        k, nat_lines = _resume_key(r.key, r)
        title = f"recirc({r.id:#x}) - resume conntrack with default ct_state=trk|new (use --ct-next to customize)"
        out += "\n".join(["", _BANNER, title, *nat_lines, _BANNER, ""]) + "\n"
        tr = Trace()
        res = translate(bridge, k, side_effects=side_effects, trace=tr, now=now, dont_send=dont_send)
        # Open vSwitch heads every pass with the bridge traced, even one resuming in a patch peer.
        out += format_trace(bridge.name, k, res, tr)
        queue += [x for x in res.recircs if x.kind == "ct"]
        passes += 1
    return out
