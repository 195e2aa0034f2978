"""A small os-ken controller that drives a switch through a fixed plan and writes down what it saw.

tests/system/test_osken_controller.py runs this file as a process of its own, one per controller:

    python tests/system/osken_app.py --ofp-tcp-listen-port PORT --ofp-listen-host 127.0.0.1

The os-ken installed here (4.2) no longer ships the ``osken-manager`` command nor ``os_ken.cmd.manager``,
so ``main`` below does what that manager did: it parses os-ken's command-line options (the listener's host
and port are os-ken's own ``--ofp-listen-host`` and ``--ofp-tcp-listen-port``) and runs this module's app,
with the OpenFlow handshake service it depends on, through ``AppManager.run_apps``.

The app is configured by environment variables, so that the options stay os-ken's:

``OSKEN_TEST_EVENTS``
    File to which each observation is appended as one JSON object per line (required).
``OSKEN_TEST_OFP_VERSION``
    The only OpenFlow version the app offers in its hello: ``1.0``, ``1.3`` (default) or ``1.5``.  os-ken
    negotiates the highest version that both its apps and the switch allow, so this chooses the version.
``OSKEN_TEST_PLAN``
    Comma-separated steps, sent in this order as soon as the switch reaches os-ken's main state (after the
    features reply and, from OpenFlow 1.3 on, the port description):
    ``role:master`` / ``role:slave`` (a role request, OpenFlow 1.2 and later), ``flows`` (two flow-mods),
    ``packet_out_controller``
    (a packet-out whose action is output to CONTROLLER), ``packet_out_port`` (a packet-out whose action is
    output to port 2) and ``barrier`` (a barrier request).
``OSKEN_TEST_COOKIE``
    Cookie of the flows that ``flows`` adds (default 0x1), so that two controllers' flows can be told apart;
    its low byte is also written into the packet-outs' payload.

Events written, each with ``"event"`` naming its kind: ``started`` (the app runs; its listener may still be
opening); ``state`` (os-ken's dispatcher state); ``features`` (negotiated version, datapath id, table count);
``sent`` (step, xid, and for packet-outs the frame in hex); ``role_reply``; ``packet_in`` (reason, buffer id,
table, cookie, in_port, data in hex); ``error`` (type, code, os-ken's names for them, xid of the refused
request, its bytes); ``barrier_reply``.
"""

from __future__ import annotations

import json
import logging
import os
import struct
import sys
import threading
from typing import Any, ClassVar

from os_ken import cfg
from os_ken.base import app_manager
from os_ken.controller import controller as _controller  # noqa: F401  (registers the --ofp-* options)
from os_ken.controller import ofp_event
from os_ken.controller.handler import CONFIG_DISPATCHER, HANDSHAKE_DISPATCHER, MAIN_DISPATCHER, set_ev_cls
from os_ken.ofproto import ofproto_v1_0, ofproto_v1_3, ofproto_v1_5

_VERSIONS = {"1.0": ofproto_v1_0.OFP_VERSION, "1.3": ofproto_v1_3.OFP_VERSION,
             "1.5": ofproto_v1_5.OFP_VERSION}

#: The flows that the ``flows`` step adds, described once so that the test can predict dump-flows' output:
#: (table, priority, IPv4 destination or None for a catch-all, output port or "CONTROLLER").
FLOWS: tuple[tuple[int, int, str | None, int | str], ...] = (
    (0, 100, "10.0.0.2", 2),
    (0, 0, None, "CONTROLLER"),
)


def _frame(dst_ip_last: int, tag: int) -> bytes:
    """An Ethernet/IPv4/UDP frame of 78 bytes from 10.0.0.1 to 10.0.0.``dst_ip_last``, fixed byte for byte;
    its payload carries ``tag`` (the low byte of the cookie), so that each controller's frames differ."""
    payload = b"os-ken system test" + bytes([tag & 0xFF]) + bytes(range(17))
    udp = struct.pack("!HHHH", 5000, 5001, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                     bytes((10, 0, 0, 1)), bytes((10, 0, 0, dst_ip_last)))
    csum = sum(struct.unpack("!10H", ip))
    csum = (csum & 0xFFFF) + (csum >> 16)
    ip = ip[:10] + struct.pack("!H", ~csum & 0xFFFF) + ip[12:]
    eth = bytes.fromhex("0a0000000002" "0a0000000001" "0800")
    return eth + ip + udp


class RecordingController(app_manager.OSKenApp):  # type: ignore[misc]
    """Runs OSKEN_TEST_PLAN once on each switch that connects and records every reply."""

    OFP_VERSIONS: ClassVar[list[int]] = [_VERSIONS[os.environ.get("OSKEN_TEST_OFP_VERSION", "1.3")]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._events_path = os.environ["OSKEN_TEST_EVENTS"]
        self._plan = [s for s in os.environ.get("OSKEN_TEST_PLAN", "").split(",") if s]
        self._cookie = int(os.environ.get("OSKEN_TEST_COOKIE", "0x1"), 0)
        self._lock = threading.Lock()
        self._started: set[int] = set()

    def record(self, event: str, **fields: Any) -> None:
        """Appends one event to the events file at once, so that the test can poll it."""
        line = json.dumps({"event": event, **fields}, sort_keys=True)
        with self._lock, open(self._events_path, "a", encoding="utf-8") as f:
            f.write(line + "\n")

    def start(self) -> Any:
        thread = super().start()
        self.record("started", pid=os.getpid())
        return thread

    @set_ev_cls(ofp_event.EventOFPStateChange, [HANDSHAKE_DISPATCHER, CONFIG_DISPATCHER, MAIN_DISPATCHER])
    def _state_change(self, ev: Any) -> None:
        dp = ev.datapath
        self.record("state", state=ev.state, version=dp.ofproto.OFP_VERSION)
        if ev.state == MAIN_DISPATCHER and id(dp) not in self._started:
            self._started.add(id(dp))
            for step in self._plan:
                self._run_step(dp, step)

    @set_ev_cls(ofp_event.EventOFPSwitchFeatures, CONFIG_DISPATCHER)
    def _features(self, ev: Any) -> None:
        msg = ev.msg
        self.record("features", version=msg.version, datapath_id=msg.datapath_id, n_tables=msg.n_tables,
                    n_buffers=msg.n_buffers)

    def _send(self, dp: Any, step: str, msg: Any, **fields: Any) -> None:
        dp.set_xid(msg)
        dp.send_msg(msg)
        self.record("sent", step=step, xid=msg.xid, **fields)

    def _run_step(self, dp: Any, step: str) -> None:
        ofp, parser = dp.ofproto, dp.ofproto_parser
        v10 = ofp.OFP_VERSION == ofproto_v1_0.OFP_VERSION
        if step.startswith("role:"):
            role = {"master": ofp.OFPCR_ROLE_MASTER, "slave": ofp.OFPCR_ROLE_SLAVE}[step[5:]]
            self._send(dp, step, parser.OFPRoleRequest(dp, role, 1))
        elif step == "flows":
            for table, priority, nw_dst, port in FLOWS:
                out = ofp.OFPP_CONTROLLER if port == "CONTROLLER" else port
                actions = [parser.OFPActionOutput(out, 0xFFFF)]
                if v10:
                    match = (parser.OFPMatch(dl_type=0x0800, nw_dst=nw_dst, in_port=1) if nw_dst
                             else parser.OFPMatch())
                    mod = parser.OFPFlowMod(dp, match=match, cookie=self._cookie, command=ofp.OFPFC_ADD,
                                            priority=priority, actions=actions)
                else:
                    match = (parser.OFPMatch(in_port=1, eth_type=0x0800, ipv4_dst=nw_dst) if nw_dst
                             else parser.OFPMatch())
                    inst = [parser.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, actions)]
                    mod = parser.OFPFlowMod(dp, cookie=self._cookie, table_id=table, command=ofp.OFPFC_ADD,
                                            priority=priority, match=match, instructions=inst)
                self._send(dp, step, mod, priority=priority)
        elif step in ("packet_out_controller", "packet_out_port"):
            to_controller = step == "packet_out_controller"
            data = _frame(3 if to_controller else 2, self._cookie)
            port = ofp.OFPP_CONTROLLER if to_controller else 2
            actions = [parser.OFPActionOutput(port, ofp.OFPCML_NO_BUFFER if not v10 else 0xFFFF)]
            if ofp.OFP_VERSION >= ofproto_v1_5.OFP_VERSION:
                out = parser.OFPPacketOut(dp, buffer_id=ofp.OFP_NO_BUFFER,
                                          match=parser.OFPMatch(in_port=ofp.OFPP_CONTROLLER),
                                          actions=actions, data=data)
            else:
                out = parser.OFPPacketOut(dp, buffer_id=0xFFFFFFFF, in_port=ofp.OFPP_CONTROLLER,
                                          actions=actions, data=data)
            self._send(dp, step, out, data=data.hex())
        elif step == "barrier":
            self._send(dp, step, parser.OFPBarrierRequest(dp))
        else:
            raise ValueError(f"unknown plan step {step!r}")

    @set_ev_cls(ofp_event.EventOFPRoleReply, MAIN_DISPATCHER)
    def _role_reply(self, ev: Any) -> None:
        msg = ev.msg
        ofp = msg.datapath.ofproto
        names = {ofp.OFPCR_ROLE_NOCHANGE: "nochange", ofp.OFPCR_ROLE_EQUAL: "equal",
                 ofp.OFPCR_ROLE_MASTER: "master", ofp.OFPCR_ROLE_SLAVE: "slave"}
        self.record("role_reply", xid=msg.xid, role=names.get(msg.role, msg.role),
                    generation_id=msg.generation_id)

    @set_ev_cls(ofp_event.EventOFPPacketIn, [CONFIG_DISPATCHER, MAIN_DISPATCHER])
    def _packet_in(self, ev: Any) -> None:
        msg = ev.msg
        ofp = msg.datapath.ofproto
        if ofp.OFP_VERSION == ofproto_v1_0.OFP_VERSION:
            extra = {"in_port": msg.in_port}
        else:
            extra = {"in_port": msg.match.get("in_port"), "table_id": msg.table_id, "cookie": msg.cookie}
        self.record("packet_in", xid=msg.xid, reason=msg.reason, buffer_id=msg.buffer_id,
                    total_len=msg.total_len, data=bytes(msg.data).hex(), **extra)

    @set_ev_cls(ofp_event.EventOFPErrorMsg, [HANDSHAKE_DISPATCHER, CONFIG_DISPATCHER, MAIN_DISPATCHER])
    def _error(self, ev: Any) -> None:
        msg = ev.msg
        ofp = msg.datapath.ofproto
        # os-ken's names carry the number, as in "OFPBRC_IS_SLAVE(10)", and are "Unknown(N)" for others.
        self.record("error", xid=msg.xid, type=msg.type, code=msg.code,
                    type_name=ofp.ofp_error_type_to_str(msg.type),
                    code_name=ofp.ofp_error_code_to_str(msg.type, msg.code), data=bytes(msg.data).hex())

    @set_ev_cls(ofp_event.EventOFPBarrierReply, MAIN_DISPATCHER)
    def _barrier_reply(self, ev: Any) -> None:
        self.record("barrier_reply", xid=ev.msg.xid)


def main() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    cfg.CONF(args=sys.argv[1:], project="os_ken")
    # The app is loaded by module name from this file's directory (on sys.path as the script's own), so that
    # os-ken instantiates the class of a regular module rather than of __main__.
    app_manager.AppManager.run_apps([os.path.splitext(os.path.basename(__file__))[0]])


if __name__ == "__main__":
    main()
