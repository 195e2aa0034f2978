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

Layout of the report: a table line is indented one step (4 columns) further when more lines follow it at its
level, and its actions two steps then; an action's lines under it (a group's buckets' actions) two steps
further; details and warnings sit one column right of the action indentation.  That is how Open vSwitch
indents its report tree, and it is why a resubmit that is the last thing a table does prints flat.

The megaflow line is the mask as the datapath holds it: ``recirc_id=0,eth,`` (every flow a packet enters the
datapath with) and the match; an untagged packet's key has no VLAN header, so VLAN bits of the mask are not
shown for it.
"""

from __future__ import annotations

from pyvswitch.dpif import odp
from pyvswitch.flow import fields as F
from pyvswitch.flow.flow_format import format_flow
from pyvswitch.flow.match import Match
from pyvswitch.flow.match_text import format_match
from pyvswitch.ofproto.xlate import Trace, TraceNode, XlateResult

__all__ = ["format_megaflow", "format_nodes", "format_trace"]

_VLAN_TCI = F.BY_NAME["vlan_tci"]
_DL_TYPE = F.BY_NAME["dl_type"]
_VLAN_CFI = 0x1000


def format_megaflow(key: int, mask: int) -> str:
    """The ``Megaflow:`` text for flow key ``key`` and mask ``mask``."""
    tci = F.get(key, _VLAN_TCI)
    if not tci & _VLAN_CFI and (F.get(key, _DL_TYPE) != 0x8100 or tci == 0):
        mask &= ~_VLAN_TCI.key_mask
    m = format_match(Match(key & mask, mask))
    return "recirc_id=0,eth" + (f",{m}" if m else "")


def format_nodes(nodes: list[TraceNode], level: int = 0) -> list[str]:
    out: list[str] = []
    for i, n in enumerate(nodes):
        more = i < len(nodes) - 1
        if n.kind == "table":
            out.append(" " * ((level + more) * 4) + n.text)
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


def format_trace(bridge_name: str, key: int, result: XlateResult, trace: Trace) -> str:
    header = f'bridge("{bridge_name}")'
    lines = [f"Flow: {format_flow(key)}", "", header, "-" * len(header)]
    lines.extend(format_nodes(trace.nodes))
    final = "unchanged" if result.final_key == key else format_flow(result.final_key)
    lines += ["", f"Final flow: {final}", f"Megaflow: {format_megaflow(key, result.wc.mask)}",
              f"Datapath actions: {odp.format_actions(result.actions)}"]
    if result.slow_path == "action":
        lines += ["This flow is handled by the userspace slow path because it:",
                  "  - Uses action(s) not supported by datapath."]
    if result.error:
        lines.append(f"Translation failed ({result.error}), packet is dropped.")
    return "\n".join(lines) + "\n"
