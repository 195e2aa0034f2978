"""``multipath`` and ``bundle_load`` (pyvswitch.ofproto.multipath) against Open vSwitch 3.1.

``tests/data/ofproto/multipath/multipath_cases.json`` was recorded by ``capture.py`` next to it from a real
ovs-vswitchd (dummy datapath): for 60 pseudo-random packets of every kind the hashes treat differently (and 8
double-tagged ones), the link each of 196 ``multipath`` actions (7 field sets x 4 algorithms x 7
basis/n_links/arg variants) wrote, the port each of 42 ``bundle_load`` actions chose under 5 port up/down
states, and the ``Megaflow:`` line of a flow with a single ``multipath``/``bundle_load``.  Keys are parsed
from Open vSwitch's own ``Flow:`` line.

The megaflow comparison looks at the packet fields the hashes can touch (Ethernet addresses, VLAN, IPv4/IPv6
addresses, IP protocol, L4 ports) and leaves out what a translation with ``actions=drop`` already pins (the
recorded ``baseline``).  Two steps between the action and the printed line belong to translation, not to the
action, and are applied to our mask here as Open vSwitch's end-of-translation step applies them: ICMP
type/code masks narrow to their byte, later fragments drop the L4 ports, and a VLAN mask gains the CFI bit.
Open vSwitch does not print VLAN masks for untagged packets, so VLAN bits are compared for tagged packets
only.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from pyvswitch.flow import fields as F
from pyvswitch.flow.match import Wildcards
from pyvswitch.flow.match_text import parse_match
from pyvswitch.ofproto.actions import parse_actions
from pyvswitch.ofproto.actions.model import Bundle, Multipath
from pyvswitch.ofproto.multipath import (
    OFPP_NONE,
    bundle_execute,
    flow_hash_fields,
    jhash_bytes,
    multipath_algorithm,
    multipath_execute,
    report_subfield,
)

DATA = json.loads((Path(__file__).resolve().parent.parent / "data" / "ofproto" / "multipath"
                   / "multipath_cases.json").read_text())
REG0 = F.BY_NAME["reg0"]


def key_of(flow: str) -> int:
    """The flow key of Open vSwitch's ``Flow:`` text.  A tagged packet's line names the second tag as
    ``vlan_tci1=0x0000`` (absent) or ``dl_vlan1=V,dl_vlan_pcp1=P``, which the match parser does not know; it
    is put in the key's second-tag slot here."""
    tci2 = 0
    m = re.search(r",dl_vlan1=(\d+),dl_vlan_pcp1=(\d+)", flow)
    if m:
        tci2 = 0x1000 | int(m.group(1)) | int(m.group(2)) << 13
        flow = flow.replace(m.group(0), "")
    key = parse_match(flow.replace(",vlan_tci1=0x0000", "")).match.value
    return F.storage_put(key, "_vlan2_tci", tci2)


KEYS = [key_of(f) for f in DATA["flows"]]
S = F.storage_mask
INTEREST = (S("dl_src") | S("dl_dst") | S("vlan_tci") | S("nw_src") | S("nw_dst") | S("ipv6_src")
            | S("ipv6_dst") | S("nw_proto") | S("tp_src") | S("tp_dst"))


def _action(text: str) -> Any:
    (a,) = parse_actions(text)
    return a


def test_data_is_big_enough() -> None:
    assert len(KEYS) >= 50
    assert len(DATA["multipath_actions"]) == 196
    kinds = {f.split(",")[0] for f in DATA["flows"]}
    assert {"tcp", "udp", "sctp", "icmp", "ip", "tcp6", "udp6", "icmp6", "arp"} <= kinds


@pytest.mark.parametrize("ai", range(len(DATA["multipath_actions"])))
def test_multipath_picks_the_link_ovs_picked(ai: int) -> None:
    action = _action(DATA["multipath_actions"][ai])
    assert isinstance(action, Multipath)
    got = [F.get(multipath_execute(action, key, Wildcards()), REG0) for key in KEYS]
    want = [row[ai] for row in DATA["links"]]
    assert got == want, action.fmt()


def test_multipath_on_double_tagged_packets() -> None:
    keys = [key_of(f) for f in DATA["qinq_flows"]]
    assert len(keys) == 8 and all(F.storage_get(k, "_vlan2_tci") for k in keys)
    for ai, text in enumerate(DATA["multipath_actions"]):
        action = _action(text)
        got = [F.get(multipath_execute(action, key, Wildcards()), REG0) for key in keys]
        assert got == [row[ai] for row in DATA["qinq_links"]], text


@pytest.mark.parametrize("si", range(len(DATA["bundle"])))
def test_bundle_picks_the_port_ovs_picked(si: int) -> None:
    state = DATA["bundle"][si]
    down = {int(p[1:]) for p in state["down"]}

    def live(port: int) -> bool:
        return 1 <= port <= 4 and port not in down

    for ai, text in enumerate(DATA["bundle_actions"]):
        action = _action(text)
        assert isinstance(action, Bundle)
        for ki, key in enumerate(KEYS):
            new_key, port = bundle_execute(action, key, Wildcards(), live)
            assert F.get(new_key, REG0) == port
            assert port == state["ports"][ki][ai], (text, DATA["flows"][ki], state["down"])


_LOW_BYTES = (0xFF << F.STORAGE["tp_src"][0]) | (0xFF << F.STORAGE["tp_dst"][0])


def _is_icmp(key: int) -> bool:
    nw_proto = F.storage_get(key, "nw_proto")
    dl_type = F.storage_get(key, "dl_type")
    return (dl_type == 0x0800 and nw_proto == 1) or (dl_type == 0x86DD and nw_proto == 58)


def _finish(key: int, mask: int) -> int:
    """Open vSwitch's end-of-translation adjustments of a megaflow mask (see the module docstring)."""
    dl_type = F.storage_get(key, "dl_type")
    ports = S("tp_src") | S("tp_dst")
    if _is_icmp(key):
        mask &= ~ports | _LOW_BYTES
    if dl_type in (0x0800, 0x86DD) and F.storage_get(key, "nw_frag") & 2:
        mask &= ~ports
    if mask & S("vlan_tci"):
        mask |= 0x1000 << F.STORAGE["vlan_tci"][0]
    return mask


@pytest.mark.parametrize("ci", range(len(DATA["wildcards"])))
def test_wildcards_match_ovs_megaflow(ci: int) -> None:
    case = DATA["wildcards"][ci]
    action = _action(case["action"])
    for ki, key in enumerate(KEYS):
        wc = Wildcards()
        if isinstance(action, Multipath):
            multipath_execute(action, key, wc)
        else:
            bundle_execute(action, key, wc, lambda p: True)
        base = parse_match(DATA["baseline"][ki]).match.mask
        want = parse_match(case["megaflows"][ki]).match.mask
        interest = INTEREST & ~base
        if not F.storage_get(key, "vlan_tci"):
            interest &= ~S("vlan_tci")
        if _is_icmp(key):
            # "icmp_type=0x87/0xff" parses as an exact icmp_type, which fills the whole 16-bit port slot (as
            # OVS's match_set_icmp_type does); only the type/code byte is comparable.
            interest &= ~(S("tp_src") | S("tp_dst")) | _LOW_BYTES
        assert _finish(key, wc.mask) & interest == want & interest, (case["action"], DATA["flows"][ki])


def test_destination_bits_are_unwildcarded_and_written() -> None:
    action = _action("multipath(eth_src,0,modulo_n,4,0,NXM_OF_ETH_DST[8..9])")
    key = KEYS[0]
    wc = Wildcards()
    new = multipath_execute(action, key, wc)
    sf = action.dst
    assert wc.mask & sf.key_mask == sf.key_mask
    assert sf.read(new) == flow_hash_fields(key, "eth_src", 0) % 4
    assert new & ~sf.key_mask == key & ~sf.key_mask


def test_report_subfield_text() -> None:
    # The texts Open vSwitch's trace printed (see capture.py): a whole register in hex, zero as "0".
    key = F.put(0, REG0, 3)
    reg0 = _action("multipath(eth_src,0,hrw,2,0,reg0)").dst
    assert report_subfield(reg0, key) == "NXM_NX_REG0[] is now 0x3"
    assert report_subfield(reg0, 0) == "NXM_NX_REG0[] is now 0"
    sf = _action("multipath(eth_src,0,hrw,2,0,reg1[4..6])").dst
    assert report_subfield(sf, sf.write(0, 4)) == "NXM_NX_REG1[4..6] is now 0x4"


def test_algorithms_stay_in_range() -> None:
    for h in (0, 1, 0x7FFFFFFF, 0xFFFFFFFF, 0x12345678):
        for alg in ("modulo_n", "hash_threshold", "hrw", "iter_hash"):
            for n in (1, 2, 3, 64, 65, 1000):
                assert 0 <= multipath_algorithm(h, alg, n, 7) < n


def test_bundle_with_no_live_member_gives_none() -> None:
    key, port = bundle_execute(_action("bundle_load(eth_src,0,hrw,ofport,reg0,members:1,2)"), KEYS[0],
                               Wildcards(), lambda p: False)
    assert port == OFPP_NONE and F.get(key, REG0) == OFPP_NONE
    key, port = bundle_execute(_action("bundle(eth_src,0,active_backup,ofport,members:1,2)"), KEYS[0],
                               Wildcards(), lambda p: p == 2)
    assert port == 2 and key == KEYS[0]


def test_jhash_known_values() -> None:
    # lookup3's published check values: hashlittle("", 0) and hashlittle("Four score and seven years ago", 0).
    assert jhash_bytes(b"", 0) == 0xDEADBEEF
    assert jhash_bytes(b"Four score and seven years ago", 0) == 0x17770551
