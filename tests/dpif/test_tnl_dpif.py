"""Native tunnelling in the userspace datapath: tnl_push and tnl_pop through a NetdevDpif with dummy ports, the
MTU rules (fragment the outer packet, fragment the inner one, or answer with ICMP), reassembly of fragments
addressed to a tunnel endpoint, and tunnel metadata through recirculation."""

from __future__ import annotations

import pytest
from scapy.contrib.geneve import GENEVE
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import ICMPv6PacketTooBig, IPv6
from scapy.layers.l2 import GRE, Ether
from scapy.layers.vxlan import VXLAN

from pyvswitch.dpif import odp
from pyvswitch.dpif.dpif import DpifError
from pyvswitch.dpif.execute import PacketMetadata, l4_hash
from pyvswitch.dpif.netdev_dpif import _tnl_hash, dummy_dpif
from pyvswitch.flow import fields as F
from pyvswitch.flow.tun_metadata import geneve_raw
from pyvswitch.netdev import native_tnl as T
from pyvswitch.netdev.netdev import PacketBatch
from pyvswitch.netdev.offload import resolve
from pyvswitch.packet.ipfrag import Reassembler, fragment_ipv4

MAC_PHY, MAC_PEER = "aa:55:aa:55:00:00", "f8:bc:12:44:34:b6"
IP_LOCAL, IP_PEER = "1.1.2.88", "1.1.2.92"


class FakeDev:
    """Just what the datapath asks of the netdev of the underlay port: its MTU, and flush."""

    def __init__(self, mtu: int) -> None:
        self.mtu = mtu

    def get_mtu(self) -> int:
        return self.mtu

    def flush(self) -> None:
        pass


class Setup:
    """A datapath with a guest port 1, the NIC port 2, br-phy's internal port 100 and tunnel ports."""

    def __init__(self, mtu: int = 1500) -> None:
        self.dp = dummy_dpif()
        self.out: dict[int, list[bytes]] = {1: [], 2: [], 100: []}
        for no, name in ((1, "p1"), (2, "nic"), (100, "br-phy")):
            self.dp.port_add(name, "dummy", no, self.out[no].append,
                             netdev=FakeDev(mtu) if no == 100 else None)  # type: ignore[arg-type]
        self.vx = self.dp.port_add("vxlan_sys_4789", "vxlan")
        self.gnv = self.dp.port_add("genev_sys_6081", "geneve")
        self.gre = self.dp.port_add("gre_sys", "gre")
        self.keys: list[int] = []
        self.answers: dict[int, list[odp.Action]] = {}
        self.mask: int | None = None        # None: the upcall's actions are executed, no megaflow installed
        self.dp.upcall_handler = self._upcall

    def _upcall(self, packets):
        out = []
        for _frame, key in packets:
            self.keys.append(key)
            acts = self.answers.get(F.storage_get(key, "in_port"))
            out.append(None if acts is None else (key, self.mask, acts))
        return out


def push_action(tnl_type: str = "vxlan", **kw) -> T.TnlPush:
    port = {"vxlan": 4789, "geneve": 6081, "gre": 3}[tnl_type]
    return T.build_tnl_push(tnl_type=tnl_type, tnl_port=port, out_port=100, eth_src=0xAA55AA550000,
                            eth_dst=0xF8BC124434B6, ip_src=0x01010258, ip_dst=0x0101025C, udp_dst=port,
                            **({"key": 456} | kw))


def inner_frame(size: int = 30, df: bool = False) -> bytes:
    return bytes(Ether(src="50:54:00:00:00:05", dst="50:54:00:00:00:07") /
                 IP(src="192.168.0.1", dst="192.168.0.2", flags="DF" if df else 0) / TCP(sport=1, dport=2) /
                 (b"z" * size))


def outer(l4) -> bytes:
    return bytes(Ether(src=MAC_PEER, dst=MAC_PHY) / IP(src=IP_PEER, dst=IP_LOCAL) / l4)


def test_tunnel_ports_take_their_udp_port_number_and_show_like_ovs() -> None:
    s = Setup()
    assert (s.vx, s.gnv) == (4789, 6081)
    assert s.dp.port_add("vxlan_sys_4790", "vxlan") == 4790
    lines = s.dp.show()
    assert "  port 4789: vxlan_sys_4789 (vxlan: packet_type=ptap)" in lines
    assert "  port 4790: vxlan_sys_4790 (vxlan: dst_port=4790, packet_type=ptap)" in lines
    assert f"  port {s.gre}: gre_sys (gre: packet_type=ptap)" in lines
    for bad in (("vxlan_sys_x", "vxlan"), ("genev_sys_6082", "vxlan"), ("gre", "gre")):
        with pytest.raises(DpifError, match="tunnel port"):
            s.dp.port_add(*bad)


def test_push_vxlan_through_a_flow_equals_scapy() -> None:
    s = Setup()
    action = push_action()
    s.answers[1] = [action, odp.Output(2)]
    frame = inner_frame()
    s.dp.receive(1, [frame])
    want = Ether(src=MAC_PHY, dst=MAC_PEER) / IP(src=IP_LOCAL, dst=IP_PEER, flags="DF", id=0) / UDP(
        sport=T.udp_src_port(_tnl_hash(frame)), dport=4789, chksum=0) / VXLAN(flags=0x08, vni=456) / frame
    assert s.out[2] == [bytes(want)]
    assert s.dp.tnl_port_stats[4789][2:] == [1, len(frame)]


class BatchDev(FakeDev):
    """An output device that records what it is given, and whether one frame at a time or as a batch."""

    def __init__(self, mtu: int) -> None:
        super().__init__(mtu)
        self.sent: list[bytes] = []
        self.batches = 0

    def send(self, frame: bytes, vnet_hdr: bytes | None = None) -> None:
        self.sent.append(frame)

    def send_batch(self, batch: PacketBatch, idx) -> None:
        self.batches += 1
        self.sent += [batch.frame(int(i)) for i in idx]


@pytest.mark.parametrize("df", [True, False])
def test_a_batch_pushed_through_one_megaflow_equals_push_frame_by_frame(df: bool) -> None:
    s = Setup(mtu=1400)
    nic = BatchDev(1500)
    s.dp.port_del(2)
    s.dp.port_add("nic", "dummy", 2, nic.send, netdev=nic)  # type: ignore[arg-type]
    action = push_action(df=df)
    s.answers[1] = [action, odp.Output(2)]
    s.mask = F.storage_mask("in_port")
    frames = [inner_frame(size=n) for n in (30, 31, 32, 33)] + [inner_frame(size=30)[:-4] + b"\0\0\0\0"]
    s.dp.receive(1, frames[:1])             # the megaflow is installed by the first frame's upcall
    s.dp.receive_batch(1, PacketBatch.from_frames(frames))
    assert nic.batches == 1
    ids = [0] * 6 if df else list(range(1, 7))
    want = [T.push(f, action, _tnl_hash(f), ids[i]) for i, f in enumerate(frames[:1] + frames)]
    assert nic.sent == want
    # One flow, one outer source port: the hash covers addresses, protocol and ports, not the payload.
    assert len({o[34:36] for o in nic.sent}) == 1
    assert s.dp.tnl_port_stats[4789][2:] == [6, sum(map(len, frames[:1] + frames))]
    # A frame too long for br-phy's MTU sends the batch frame by frame (here: fragments, or ICMP back).
    s.dp.receive_batch(1, PacketBatch.from_frames([inner_frame(size=1400, df=True)] * 2))
    assert nic.batches == 1
    if df:
        assert len(s.out[1]) == 2 and all(ICMP in Ether(f) for f in s.out[1])
    else:
        assert len(nic.sent) == 6 + 4


def test_a_batch_with_virtio_net_headers_is_resolved_then_pushed_as_one_batch() -> None:
    s = Setup()
    nic = BatchDev(1500)
    s.dp.port_del(2)
    s.dp.port_add("nic", "dummy", 2, nic.send, netdev=nic)  # type: ignore[arg-type]
    action = push_action()
    s.answers[1] = [action, odp.Output(2)]
    s.mask = F.storage_mask("in_port")
    frames = [inner_frame(size=n) for n in (30, 40, 50)]
    s.dp.receive(1, frames[:1])
    plain = b"\0" * 10
    # The middle frame's TCP checksum is left for the switch to complete (NEEDS_CSUM, start 34, offset 16).
    partial = bytes([1, 0]) + (0).to_bytes(2, "little") * 2 + (34).to_bytes(2, "little") + (16).to_bytes(2, "little")
    hdrs = [plain, partial, plain]
    s.dp.receive_batch(1, PacketBatch.from_frames(frames, hdrs))
    assert nic.batches == 1
    resolved = [resolve(f, h)[0] for f, h in zip(frames, hdrs)]
    assert resolved[1] != frames[1]
    assert nic.sent[1:] == [T.push(f, action, _tnl_hash(f)) for f in resolved]
    # Without any header asking for work, the frames are pushed as they came.
    s.dp.receive_batch(1, PacketBatch.from_frames(frames, [plain] * 3))
    assert nic.batches == 2 and nic.sent[4:] == [T.push(f, action, _tnl_hash(f)) for f in frames]


def test_the_outer_source_port_follows_the_inner_flow() -> None:
    a, b = inner_frame(size=30), inner_frame(size=99)
    assert _tnl_hash(a) == _tnl_hash(b)
    # In the packets: one flow, one outer source port; another flow, another.
    s = Setup()
    for f in (a, b, inner_frame(size=30)[:34] + bytes(TCP(sport=7, dport=2)) + b"z" * 30):
        s.dp.execute(f, [push_action(), odp.Output(2)], PacketMetadata(in_port=1))
    ports = [o[34:36] for o in s.out[2]]
    assert ports[0] == ports[1] != ports[2]
    for changed in (IP(src="192.168.0.9", dst="192.168.0.2") / TCP(sport=1, dport=2),
                    IP(src="192.168.0.1", dst="192.168.0.2") / TCP(sport=3, dport=2),
                    IP(src="192.168.0.1", dst="192.168.0.2") / UDP(sport=1, dport=2)):
        assert _tnl_hash(bytes(Ether() / changed / b"z")) != _tnl_hash(a)
    # Not plain IPv4 (options, IPv6, ARP): the datapath's L4 hash.
    v6 = bytes(Ether() / IPv6(src="::1", dst="::2") / UDP(sport=1, dport=2))
    assert _tnl_hash(v6) == l4_hash(v6)


def test_pop_vxlan_gives_inner_frame_and_tunnel_key() -> None:
    s = Setup()
    s.answers[2] = [odp.TnlPop(4789)]
    s.answers[4789] = [odp.Output(1)]
    frame = inner_frame()
    pkt = outer(UDP(sport=51283, dport=4789) / VXLAN(flags=0x08, vni=456) / frame)
    s.dp.receive(2, [pkt])
    assert s.out[1] == [frame]
    key = s.keys[-1]
    assert F.storage_get(key, "in_port") == 4789
    text = odp.format_flow(key, F.storage_mask("tun_id") | F.storage_mask("tun_src") | F.storage_mask("tun_dst")
                           | F.storage_mask("tun_flags") | F.storage_mask("in_port"))
    assert text.startswith("tunnel(tun_id=0x1c8,src=1.1.2.92,dst=1.1.2.88,flags(-oam-df+csum+key))")
    assert F.storage_get(key, "_tun_tp_src") == 51283 and F.storage_get(key, "_tun_ttl") == 64
    assert s.dp.tnl_port_stats[4789][:2] == [1, len(frame)]
    # The same through a device's batch.
    s.dp.receive_batch(2, PacketBatch.from_frames([pkt] * 3))
    assert s.out[1][1:] == [frame] * 3


def test_pop_geneve_keeps_options_raw() -> None:
    s = Setup()
    s.answers[2] = [odp.TnlPop(6081)]
    s.answers[6081] = [odp.Output(1)]
    opts = bytes.fromhex("ffff000100000001")
    frame = inner_frame()
    s.dp.receive(2, [outer(UDP(sport=5, dport=6081) / GENEVE(vni=123, optionlen=2, options=opts,
                                                             proto=0x6558) / frame)])
    assert s.out[1] == [frame]
    key = s.keys[-1]
    assert geneve_raw(key) == opts and F.storage_get(key, "tun_id") == 123
    verbose = odp.format_flow_verbose(key, F.storage_mask("in_port"))
    assert "geneve({class=0xffff/0,type=0/0,len=4/0,0x1/0}),flags(0/0)" in verbose


def test_pop_gre() -> None:
    s = Setup()
    s.answers[2] = [odp.TnlPop(s.gre)]
    s.answers[s.gre] = [odp.Output(1)]
    frame = inner_frame()
    s.dp.receive(2, [outer(GRE(key_present=1, key=456, proto=0x6558) / frame)])
    assert s.out[1] == [frame] and F.storage_get(s.keys[-1], "tun_id") == 456


def test_bad_outer_packets_are_dropped_and_counted() -> None:
    s = Setup()
    s.answers[2] = [odp.TnlPop(4789)]
    s.answers[4789] = [odp.Output(1)]
    good = outer(UDP(sport=1, dport=4789) / VXLAN(flags=0x08, vni=1) / inner_frame())
    bad_csum = bytearray(outer(UDP(sport=1, dport=4789) / VXLAN(flags=0x08, vni=1) / inner_frame()))
    bad_csum[40] ^= 0xFF            # the UDP checksum
    no_i = outer(UDP(sport=1, dport=4789) / VXLAN(flags=0x00, vni=1) / inner_frame())
    s.dp.receive(2, [bytes(bad_csum), no_i, good[:40], good])
    stats = s.dp.tnl_stats()
    assert stats["pop_bad_udp_csum"] == 1 and stats["pop_bad_vxlan"] == 1 and stats["popped"] == 1
    assert len(s.out[1]) == 1
    s.dp.execute(good, [odp.TnlPop(77)])
    assert s.dp.tnl_stats()["pop_no_port"] == 1


def test_recirculation_keeps_tunnel_metadata() -> None:
    s = Setup()
    s.answers[2] = [odp.TnlPop(4789)]
    s.answers[4789] = [odp.Recirc(5)]
    s.dp.receive(2, [outer(UDP(sport=1, dport=4789) / VXLAN(flags=0x08, vni=77) / inner_frame())])
    assert F.storage_get(s.keys[-1], "recirc_id") == 5 and F.storage_get(s.keys[-1], "tun_id") == 77
    assert F.storage_get(s.keys[-1], "tun_src") == 0x0101025C


def _reassembled(frames: list[bytes]) -> bytes:
    r = Reassembler()
    done = [x for x in (r.add(f[14:]) for f in frames) if x is not None]
    assert len(done) == 1
    return frames[0][:14] + done[0]


def test_mtu_fragments_outer_packet_when_df_clear() -> None:
    s = Setup(mtu=1000)
    action = push_action(df=False)
    frame = inner_frame(1400)
    s.dp.execute(frame, [action, odp.Output(2)], PacketMetadata(in_port=1))
    assert len(s.out[2]) == 2 and all(len(f) - 14 <= 1000 for f in s.out[2])
    whole = _reassembled(s.out[2])
    assert T.pop(whole, "vxlan", 4789)[0] == frame
    assert s.dp.tnl_stats()["push_fragmented"] == 1


def test_df_set_inner_df_clear_fragments_inner_packet() -> None:
    s = Setup(mtu=1000)
    frame = inner_frame(1400)
    s.dp.execute(frame, [push_action(), odp.Output(2)], PacketMetadata(in_port=1))
    assert len(s.out[2]) == 2 and all(len(f) - 14 <= 1000 for f in s.out[2])
    inners = [T.pop(f, "vxlan", 4789)[0] for f in s.out[2]]
    assert all(IP(f[14:]).flags.DF for f in s.out[2])
    assert _reassembled(inners) == frame


def test_df_set_inner_df_set_answers_icmp_frag_needed() -> None:
    s = Setup(mtu=1000)
    frame = inner_frame(1400, df=True)
    s.dp.execute(frame, [push_action(), odp.Output(2)], PacketMetadata(in_port=1))
    assert s.out[2] == []
    assert len(s.out[1]) == 1
    e = Ether(s.out[1][0])
    assert e[IP].src == "192.168.0.2" and e[IP].dst == "192.168.0.1"
    assert (e[ICMP].type, e[ICMP].code, e[ICMP].nexthopmtu) == (3, 4, 1000 - 36 - 14)
    assert e.dst == "50:54:00:00:00:05"
    # The inner packet at exactly that size passes.
    s.out[1].clear()
    fits = inner_frame(1000 - 36 - 14 - 20 - 20 - 14 + 14, df=True)
    assert len(fits) - 14 == 950
    s.dp.execute(fits, [push_action(), odp.Output(2)], PacketMetadata(in_port=1))
    assert len(s.out[2]) == 1 and len(s.out[2][0]) == 1014 and s.out[1] == []
    # A hook may take the ICMP error instead.
    got = []
    s.dp.on_tnl_too_big = lambda icmp, md: got.append((icmp, md.in_port))
    s.dp.execute(frame, [push_action(), odp.Output(2)], PacketMetadata(in_port=1))
    assert len(got) == 1 and got[0][1] == 1


def test_ipv6_inner_gets_packet_too_big_and_non_ip_is_dropped() -> None:
    s = Setup(mtu=1400)
    frame = bytes(Ether(src="50:54:00:00:00:05", dst="50:54:00:00:00:07") /
                  IPv6(src="fd00::1", dst="fd00::2") / UDP(sport=1, dport=2) / (b"q" * 1400))
    s.dp.execute(frame, [push_action("geneve"), odp.Output(2)], PacketMetadata(in_port=1))
    e = Ether(s.out[1][0])
    assert e[ICMPv6PacketTooBig].mtu == 1400 - 36 - 14 and e[IPv6].dst == "fd00::1"
    arp_like = bytes(Ether(type=0x88B5) / (b"a" * 1500))
    s.dp.execute(arp_like, [push_action(), odp.Output(2)], PacketMetadata(in_port=1))
    assert s.dp.tnl_stats()["too_big_dropped"] == 1 and len(s.out[1]) == 1


def test_fragments_to_an_endpoint_are_reassembled_before_tnl_pop() -> None:
    s = Setup()
    s.dp.set_tnl_endpoints({0x01010258})
    s.answers[2] = [odp.TnlPop(4789)]
    s.answers[4789] = [odp.Output(1)]
    frame = inner_frame(2500)
    whole = outer(UDP(sport=7, dport=4789) / VXLAN(flags=0x08, vni=9) / frame)
    frags = [whole[:14] + f for f in fragment_ipv4(whole[14:], 1000)]
    s.dp.receive(2, [frags[2], frags[0]])
    assert s.out[1] == []
    s.dp.receive(2, [frags[1]])
    assert s.out[1] == [frame]
    # Through a device's batch, in more than one batch and with ordinary traffic beside them.
    other = inner_frame()
    s.answers[2] = [odp.TnlPop(4789)]
    batch1 = [frags[1]] + [other] * 10
    s.dp.receive_batch(2, PacketBatch.from_frames(batch1))
    s.dp.receive_batch(2, PacketBatch.from_frames([frags[0], frags[2]] + [other] * 10))
    assert s.out[1][1:] == [frame]
    assert s.dp.tnl_stats()["frag_reassembled"] == 2
    # Fragments to another address are not held.
    s.dp.set_tnl_endpoints(set())
    s.keys.clear()
    s.dp.receive(2, [frags[0]])
    assert len(s.keys) == 1


def test_an_incomplete_datagram_expires_on_the_periodic_run_without_another_fragment() -> None:
    t = [100.0]
    s = Setup()
    s.dp = dummy_dpif(clock=lambda: t[0])
    s.dp.port_add("nic", "dummy", 2, s.out[2].append)
    s.dp.upcall_handler = s._upcall
    s.dp.set_tnl_endpoints({0x01010258})
    whole = outer(UDP(sport=7, dport=4789) / VXLAN(flags=0x08, vni=9) / inner_frame(2500))
    frags = [whole[:14] + f for f in fragment_ipv4(whole[14:], 1000)]
    s.dp.receive(2, frags[:2])
    s.dp.run()
    assert s.dp.tnl_stats()["frag_pending"] == 1
    t[0] += s.dp.reassembler.timeout + 1
    s.dp.run()
    stats = s.dp.tnl_stats()
    assert stats["frag_pending"] == 0 and stats["frag_expired"] == 1 and stats["frag_bytes"] == 0


def test_gre_fragments_to_an_endpoint_are_reassembled_too() -> None:
    s = Setup()
    s.dp.set_tnl_endpoints({0x01010258})
    s.answers[2] = [odp.TnlPop(s.gre)]
    s.answers[s.gre] = [odp.Output(1)]
    frame = inner_frame(2500)
    whole = outer(GRE(key_present=1, key=9, proto=0x6558) / frame)
    frags = [whole[:14] + f for f in fragment_ipv4(whole[14:], 1000)]
    s.dp.receive(2, [frags[2], frags[0]])
    assert s.out[1] == []
    s.dp.receive(2, [frags[1]])
    assert s.out[1] == [frame] and s.dp.tnl_stats()["frag_reassembled"] == 1


def test_fragments_inside_clone_run_the_clone_tail_only() -> None:
    s = Setup(mtu=1000)
    frame = inner_frame(1400)
    s.dp.execute(frame, [odp.Clone((push_action(df=False), odp.Output(2))), odp.Output(1)],
                 PacketMetadata(in_port=1))
    assert len(s.out[2]) == 2 and s.out[1] == [frame]


def test_pop_geneve_without_options_is_still_geneve() -> None:
    s = Setup()
    s.answers[2] = [odp.TnlPop(6081)]
    s.answers[6081] = [odp.Output(1)]
    s.dp.receive(2, [outer(UDP(sport=5, dport=6081) / GENEVE(vni=123, proto=0x6558) / inner_frame())])
    assert "geneve()" in odp.format_flow(s.keys[-1], F.storage_mask("tun_dst") | F.storage_mask("in_port"))


def test_a_frame_too_long_for_any_outer_packet_is_counted_and_dropped() -> None:
    s = Setup()
    huge = inner_frame() + b"z" * 70000
    s.dp.execute(huge, [push_action(), odp.Output(2)], PacketMetadata(in_port=1))
    assert s.out[2] == [] and s.dp.tnl_stats()["push_failed"] == 1
    s.dp.execute(inner_frame(), [push_action(), odp.Output(2)], PacketMetadata(in_port=1))
    assert len(s.out[2]) == 1


def test_inner_fragments_keep_their_flows_outer_source_port() -> None:
    s = Setup(mtu=1000)
    for size in (30, 1400):             # one TCP flow; the second packet is fragmented before encapsulation
        s.dp.execute(inner_frame(size), [push_action(), odp.Output(2)], PacketMetadata(in_port=1))
    assert len(s.out[2]) == 3 and len({Ether(f)[UDP].sport for f in s.out[2]}) == 1


def test_a_header_only_packet_over_a_tiny_mtu_is_dropped_not_counted_as_pushed() -> None:
    s = Setup(mtu=68)
    s.dp.execute(bytes(Ether() / IP(proto=17)), [push_action(), odp.Output(2)], PacketMetadata(in_port=1))
    stats = s.dp.tnl_stats()
    assert s.out[2] == [] and stats.get("pushed", 0) == 0 and stats["too_big_dropped"] == 1


def test_endpoint_fragments_with_a_bad_header_checksum_are_not_reassembled() -> None:
    s = Setup()
    s.dp.set_tnl_endpoints({0x01010258})
    s.answers[2] = [odp.TnlPop(4789)]
    s.answers[4789] = [odp.Output(1)]
    whole = outer(UDP(sport=7, dport=4789, chksum=0) / VXLAN(flags=0x08, vni=9) / inner_frame(2500))
    frags = [bytearray(whole[:14] + f) for f in fragment_ipv4(whole[14:], 1000)]
    frags[1][14 + 10] ^= 0xFF
    s.dp.receive(2, [bytes(f) for f in frags])
    assert s.out[1] == [] and s.dp.tnl_stats()["frag_bad"] == 1
