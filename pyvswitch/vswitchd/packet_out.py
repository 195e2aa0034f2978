"""Packet-outs before the datapath exists: the output actions of a packet-out, executed on the bridge's ports.

Until the translation layer of the datapath issue (``ofproto/xlate``) runs every action, a packet-out executes
what sends the packet somewhere: ``output`` to a port, ``IN_PORT``, ``LOCAL``, ``ALL``, ``FLOOD`` (not to ports
configured ``no-flood``), ``CONTROLLER`` and ``controller(...)`` (a packet-in with reason ``packet_out`` in
OpenFlow 1.4+, ``action`` before, as Open vSwitch reports it).  Output to a port that is the packet's input port
needs ``IN_PORT``, as OpenFlow says.  Any other action is logged as not executed, and the packet continues with
the actions after it unchanged; ``TABLE`` and ``NORMAL`` likewise wait for the datapath issue.
"""

from __future__ import annotations

import logging
from typing import Any

from pyvswitch.flow import values as V
from pyvswitch.flow.extract import extract
from pyvswitch.ofproto.actions import model as AM
from pyvswitch.ofproto.ofproto import OFPPC, OFProto
from pyvswitch.openflow import ofp_packet as PK

from .bridge import Bridge

log = logging.getLogger("pyvswitch.packet_out")


def execute_packet_out(br: Bridge, connset: Any, ofproto: OFProto, po: PK.PacketOut) -> int:
    """Send ``po``'s packet where its actions say; returns the number of copies sent or delivered."""
    in_port = po.in_port   # The bridge's own port is OFPP_LOCAL in ``ports`` too.
    ports = br.by_ofport()
    n = 0

    def send(port_no: int) -> None:
        nonlocal n
        iface = ports.get(port_no)
        if iface is None or iface.netdev is None:
            return
        p = ofproto.ports.get(port_no)
        if p is not None and p.config & (OFPPC.PORT_DOWN | OFPPC.NO_FWD):
            return
        if iface.netdev.send(po.packet):
            n += 1

    for a in po.actions:
        if isinstance(a, (AM.Output, AM.Controller)):
            port = a.port if isinstance(a, AM.Output) else V.OFPP_CONTROLLER
            if port == V.OFPP_CONTROLLER:
                ctl = a if isinstance(a, AM.Controller) else None
                reason = PK.OFPR_PACKET_OUT if ctl is None or ctl.reason == "action" else \
                    AM.PACKET_IN_REASONS.index(ctl.reason)
                key = extract(po.packet, in_port)
                pin = PK.PacketIn(po.packet, reason=reason, table_id=0, cookie=PK.NO_COOKIE,
                                  metadata=PK.flow_metadata(key), tun_md=po.tun_md,
                                  userdata=ctl.userdata if ctl is not None else b"")
                n += connset.send_packet_in(pin, ctl.controller_id if ctl is not None else 0)
            elif port == V.OFPP_IN_PORT:
                send(in_port)
            elif port == V.OFPP_LOCAL:
                send(V.OFPP_LOCAL)
            elif port in (V.OFPP_ALL, V.OFPP_FLOOD):
                for no in sorted(ports):
                    p = ofproto.ports.get(no)
                    if no == in_port or (port == V.OFPP_FLOOD and p is not None and p.config & OFPPC.NO_FLOOD):
                        continue
                    send(no)
            elif port < V.OFPP_MAX:
                if port != in_port:
                    send(port)
            else:
                log.info("%s: packet-out: %s is not executed before the datapath exists", br.name, a.fmt())
        else:
            log.info("%s: packet-out: %s is not executed before the datapath exists", br.name, a.fmt())
    return n
