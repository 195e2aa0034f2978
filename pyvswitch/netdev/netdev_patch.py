"""Patch ports: a pair of ports joining two bridges, with no device behind them.

A ``patch`` interface names its peer in ``options:peer``.  Nothing is ever received from or sent to a patch netdev:
translation follows an output to a patch port into the peer's bridge (``ofproto.xlate``), so one datapath flow
covers both bridges, as in Open vSwitch.  The errors and the counters it reports are Open vSwitch's (checked with
ovs-vswitchd 3.1): a missing peer and a peer named like the port itself are configuration errors; a peer that does
not exist, or is not a patch port pointing back, is reported by the bridge (the port still exists).
"""

from __future__ import annotations

import random
from collections.abc import Mapping

from .netdev import Netdev, NetdevError, register

__all__ = ["PatchNetdev"]


class PatchNetdev(Netdev):
    stats_names = ("rx_packets", "rx_bytes", "tx_packets", "tx_bytes")

    def __init__(self, name: str, type_: str) -> None:
        super().__init__(name, type_)
        self.netdev_class = "patch"
        self.peer = ""
        # A random locally administered unicast address, as Open vSwitch gives its vports.
        b = random.getrandbits(48) & ~(1 << 40) | (1 << 41)
        self.mac = ":".join(f"{(b >> s) & 0xff:02x}" for s in range(40, -8, -8))

    def set_config(self, options: Mapping[str, str]) -> None:
        peer = options.get("peer", "")
        if not peer:
            raise NetdevError(f"{self.name}: patch type requires valid 'peer' argument")
        if peer == self.name:
            raise NetdevError(f"{self.name}: patch peer must not be self")
        self.peer = peer

    def send(self, frame: bytes, vnet: bytes | None = None) -> bool:
        self.stats.tx_dropped += 1
        return False

    def close(self) -> None:
        pass

    def get_etheraddr(self) -> str:
        return self.mac

    def describe(self) -> str:
        """How ``dpif/show`` describes the port."""
        return f"patch: peer={self.peer}"


register("patch", PatchNetdev)
