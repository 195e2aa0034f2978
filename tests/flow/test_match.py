"""Matches and prerequisites (pyvswitch/flow/match.py)."""

from __future__ import annotations

from pyvswitch.flow import fields as F
from pyvswitch.flow.extract import extract
from pyvswitch.flow.fields import Prereq
from pyvswitch.flow.match import CS_TRACKED, Match, prereqs_ok, prereqs_ok_key
from pyvswitch.packet import build

DL_TYPE, NW_PROTO, CT_STATE = F.field("dl_type"), F.field("nw_proto"), F.field("ct_state")


def test_set_get_covers_overlaps() -> None:
    ip = Match().set(DL_TYPE, 0x0800)
    tcp = ip.set(NW_PROTO, 6)
    net = ip.set(F.field("nw_dst"), 0x0A000000, 0xFF000000)
    assert tcp.get(NW_PROTO) == (6, 0xFF) and ip.get(NW_PROTO) == (0, 0)
    assert ip.covers(tcp) and not tcp.covers(ip)
    assert tcp.overlaps(net) and not tcp.overlaps(ip.set(NW_PROTO, 17))
    assert tcp.clear(NW_PROTO) == ip
    key = extract(build.tcp4_frame(ip_dst="10.1.2.3"), 1)
    assert tcp.matches(key) and net.matches(key) and not ip.set(NW_PROTO, 17).matches(key)
    # Every field view of the matched bits, in table order (arp_tpa shares nw_dst's storage).
    assert [(f.name, v, m) for f, v, m in net.fields()] == [
        ("eth_type", 0x0800, 0xFFFF), ("ip_dst", 0x0A000000, 0xFF000000), ("arp_tpa", 0x0A000000, 0xFF000000)]


def test_match_prerequisites_read_values() -> None:
    tcp = Match().set(DL_TYPE, 0x86DD).set(NW_PROTO, 6)
    assert prereqs_ok(Prereq.TCP, tcp.value, tcp.mask)
    assert not prereqs_ok(Prereq.UDP, tcp.value, tcp.mask)
    assert not prereqs_ok(Prereq.IPV4, tcp.value, tcp.mask)
    later = tcp.set(F.field("ip_frag"), 3, 3)       # a later fragment carries no TCP header
    assert not prereqs_ok(Prereq.TCP, later.value, later.mask)
    # Conntrack tuple fields need a valid connection: +trk alone is not enough, +trk-inv or +est is.
    trk = Match().set(CT_STATE, CS_TRACKED, CS_TRACKED)
    assert not prereqs_ok(Prereq.CT, trk.value, trk.mask)
    trk_not_inv = Match().set(CT_STATE, CS_TRACKED, CS_TRACKED | 0x10)
    assert prereqs_ok(Prereq.CT, trk_not_inv.value, trk_not_inv.mask)
    est = Match().set(CT_STATE, 0x22, 0x22)
    assert prereqs_ok(Prereq.CT, est.value, est.mask)


def test_key_prerequisites_report_the_bits_they_read() -> None:
    key = extract(build.udp4_frame(), 1)
    ok, bits = prereqs_ok_key(Prereq.UDP, key)
    assert ok and bits & DL_TYPE.key_mask == DL_TYPE.key_mask and bits & NW_PROTO.key_mask == NW_PROTO.key_mask
    assert not prereqs_ok_key(Prereq.TCP, key)[0]
    assert prereqs_ok_key(Prereq.NONE, key) == (True, 0)
    # For a packet, a tracked connection is valid when it is new, established or a reply (OVS is_ct_valid on an
    # extracted flow); a tracked-only or invalid packet is not.
    assert not prereqs_ok_key(Prereq.CT, F.put(key, CT_STATE, CS_TRACKED))[0]
    assert prereqs_ok_key(Prereq.CT, F.put(key, CT_STATE, CS_TRACKED | 0x01))[0]
    assert prereqs_ok_key(Prereq.CT, key)[1] == CT_STATE.key_mask
