"""``make demo`` runs its job to the end: the flow library, then a switch programmed over OpenFlow."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_demo_runs_and_cleans_up() -> None:
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "demo.py")], capture_output=True, text=True,
                       timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "OFPT_FEATURES_REPLY (OF1.3)" in out
    assert "priority=10,arp actions=group:1" in out
    assert "OFPT_ERROR (OF1.3) (xid=0x6): OFPBAC_BAD_OUT_GROUP" in out
    # Three UDP packets make one megaflow (one upcall, two hits); the ARP goes through the group to port 1.
    assert "packets:2, bytes:" in out and "actions:meter(0),2" in out
    assert "dummy@ovs-dummy: hit:2 missed:2" in out
    assert "Datapath actions: meter(0),2" in out
    assert "n_packets=3," in out and "priority=10,in_port=1 actions=meter:1,output:2" in out
    assert "holds 3 flows" in out and "run directory removed" in out
