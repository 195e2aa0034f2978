"""What an OpenFlow encode/decode cycle does to a match, through the codec: the match text is parsed, put in a
flow-mod of one protocol variant (``encode_flow_mod``), decoded again (``decode_flow_mod_message``) and printed.

Expected strings and errors were observed with Debian's ``ovs-ofctl`` 3.1 (``parse-flow`` with ``-F`` / ``-O``
forcing the protocol): the OpenFlow 1.0 ``ofp_match`` (with its re-normalization), the OpenFlow 1.1 standard
match, and NXM/OXM with Open vSwitch's encoder rules and its decoder's checks.
"""

from __future__ import annotations

import pytest

from pyvswitch.flow import match_text as MT
from pyvswitch.flow.protocols import Proto
from pyvswitch.ofproto.flow_mod import FlowMod
from pyvswitch.openflow import OFPDecodeError, decode_flow_mod_message, encode_flow_mod
from pyvswitch.openflow.ofp_flow_mod import FlowModMessage
from pyvswitch.util import vlog


def _encode(text: str, proto: Proto) -> bytes:
    pm = MT.parse_match(text)
    return encode_flow_mod(FlowMod(match=pm.match), proto, tun_md=pm.tun_md)


def _rt(text: str, proto: Proto) -> FlowModMessage:
    with vlog.capture():
        return decode_flow_mod_message(_encode(text, proto), proto)


def _rt_error(text: str, proto: Proto) -> str:
    with vlog.capture(), pytest.raises(OFPDecodeError) as e:
        decode_flow_mod_message(_encode(text, proto), proto)
    return e.value.code


@pytest.mark.parametrize("text,proto,printed", [
    ("vlan_vid=5", Proto.OF10_STD, "vlan_tci=0x0000"),
    ("vlan_tci=0x100a", Proto.OF10_STD, "dl_vlan=10,dl_vlan_pcp=0"),
    ("dl_vlan_pcp=2", Proto.OF10_STD, "dl_vlan_pcp=2"),
    ("vlan_vid=5", Proto.OF10_NXM, "vlan_tci=0x0005/0x1fff"),
    ("tp_dst=80", Proto.OF10_STD, ""),
    ("tp_dst=80", Proto.OF10_NXM, ""),
    ("tcp_flags=+syn", Proto.OF10_NXM, ""),
    ("udp,tcp_flags=+syn", Proto.OF10_NXM, "udp"),
    ("ct_tp_src=80", Proto.OF10_NXM, ""),
    ("icmp6,icmp_type=3", Proto.OF10_NXM, "icmp6,icmp_type=3"),
    ("ip,nw_src=10.0.0.1/255.0.255.0,nw_ecn=1", Proto.OF11_STD, "ip,nw_src=10.0.0.0/255.0.255.0"),
    ("metadata=0x1/0xf,in_port=5", Proto.OF11_STD, "metadata=0x1/0xf,in_port=5"),
    ("icmp6,icmp_type=135,icmp_code=0,tcp_flags=+syn", Proto.OF10_NXM,
     "icmp6,icmp_type=135,icmp_code=0,nd_options_type=2"),
    ("icmp6,icmp_type=136,icmp_code=0,tcp_flags=+syn", Proto.OF13_OXM,
     "icmp6,icmp_type=136,icmp_code=0,nd_options_type=2"),
    ("recirc_id=5,eth", Proto.OF13_OXM, "recirc_id=0x5,eth"),
    ("packet_type=(1,0x800),eth", Proto.OF10_NXM, ""),
])
def test_roundtrip(text: str, proto: Proto, printed: str) -> None:
    msg = _rt(text, proto)
    assert MT.format_match(msg.fm.match, tun_md=msg.tun_md) == printed


@pytest.mark.parametrize("text,proto,error", [
    ("ct_nw_src=1.2.3.4", Proto.OF10_NXM, "OFPBMC_BAD_PREREQ"),
    ("ct_state=+trk,ct_nw_src=1.2.3.4", Proto.OF10_NXM, "OFPBMC_BAD_PREREQ"),
    ("ct_state=+est+trk,ct_nw_src=1.2.3.4", Proto.OF10_NXM, "OFPBAC_MATCH_INCONSISTENT"),
    ("ipv6,ipv6_label=0x123456", Proto.OF10_NXM, "OFPBMC_BAD_VALUE"),
    ("ip,ipv6_label=5", Proto.OF10_NXM, "OFPBMC_BAD_PREREQ"),
    ("vlan_tci=0x000a", Proto.OF13_OXM, "OFPBMC_BAD_PREREQ"),
    ("ip,packet_type=(1,0x800)", Proto.OF10_NXM, "OFPBMC_BAD_PREREQ"),
    ("tcp,ip_frag=later,tp_dst=5", Proto.OF10_NXM, "OFPBMC_BAD_PREREQ"),
])
def test_roundtrip_decode_errors(text: str, proto: Proto, error: str) -> None:
    assert _rt_error(text, proto) == error


def test_nxm_wire_bytes() -> None:
    # The NXM match of "ct_state=+trk,ct_nw_src=1.2.3.4", as in ovs-ofctl's hex dump of the flow_mod: it follows
    # the 16-byte Nicira header and the 32-byte nx_flow_mod, whose match_len (at offset 40) counts it unpadded.
    data = _encode("ct_state=+trk,ct_nw_src=1.2.3.4", Proto.OF10_NXM)
    assert int.from_bytes(data[40:42], "big") == 0x14
    assert data[48:].hex() == "0001d308000000200000002000" "01f00401020304" "00000000"


def test_of10_exact_match_flag() -> None:
    # An OpenFlow 1.0 match that wildcards nothing makes Open vSwitch's decoder force priority 65535.
    text = ("in_port=1,dl_src=1:2:3:4:5:6,dl_dst=1:2:3:4:5:7,dl_vlan=1,dl_vlan_pcp=0,tcp,nw_src=1.1.1.1,"
            "nw_dst=2.2.2.2,nw_tos=0,tp_src=1,tp_dst=2")
    assert _rt(text, Proto.OF10_STD).fm.priority == 0xFFFF
    assert _rt("tcp", Proto.OF10_STD).fm.priority == 0x8000
