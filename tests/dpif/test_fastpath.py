"""The batch classifier (``dpif.fastpath``) and ``NetdevDpif.receive_batch``: the same answers as a key extracted
and looked up frame by frame, for every frame, including malformed, truncated, tagged and odd-shaped ones."""

from __future__ import annotations

import random

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pyvswitch.dpif.fastpath import SignatureCache
from pyvswitch.dpif.flow_cache import FlowCaches, Megaflow
from pyvswitch.dpif.odp import Output, SetField
from pyvswitch.flow import fields as F
from pyvswitch.flow.extract import extract
from pyvswitch.netdev.netdev import PacketBatch
from pyvswitch.netdev.offload import checksum_partial
from pyvswitch.packet.build import arp_request_frame, icmp4_echo_frame, tcp4_frame, udp4_frame, udp6_frame

from .test_netdev_dpif import make_dp

MACS = ["02:00:00:00:00:01", "02:00:00:00:00:02", "02:00:00:00:00:03"]
IPS = ["10.0.0.1", "10.0.0.2", "10.0.1.7"]


def _frame(kind: int, a: int, b: int, port: int, extra: int) -> bytes:
    src, dst = MACS[a % 3], MACS[b % 3]
    sip, dip = IPS[a % 3], IPS[b % 3]
    if kind == 0:
        return udp4_frame(eth_src=src, eth_dst=dst, ip_src=sip, ip_dst=dip, sport=1000 + port % 4, dport=53,
                          payload=bytes(extra % 40))
    if kind == 1:
        return tcp4_frame(eth_src=src, eth_dst=dst, ip_src=sip, ip_dst=dip, sport=2000 + port % 4, dport=80,
                          tcp_flags=[0x02, 0x10, 0x18, 0x11][extra % 4], payload=bytes(extra % 30))
    if kind == 2:
        return icmp4_echo_frame(eth_src=src, eth_dst=dst, ip_src=sip, ip_dst=dip, ident=port, seq=extra)
    if kind == 3:
        return arp_request_frame(eth_src=src, spa=sip, tpa=dip)
    return udp6_frame(eth_src=src, eth_dst=dst, sport=5, dport=6)


def _mutate(frame: bytes, how: int, where: int, value: int) -> bytes:
    """Damage or reshape a frame: a byte changed, cut short, padded, an IPv4 option, a fragment, a VLAN tag."""
    b = bytearray(frame)
    if how == 1 and b:
        b[where % len(b)] = value
    elif how == 2:
        b = b[:where % (len(b) + 1)]
    elif how == 3:
        b += bytes(value % 20)
    elif how == 4 and len(b) > 34 and b[12:14] == b"\x08\x00":
        b[14] = 0x46
        b[16:18] = ((b[16] << 8 | b[17]) + 4).to_bytes(2, "big")
        b[34:34] = b"\x01\x01\x01\x00"
    elif how == 5 and len(b) > 34:
        b[20] |= 0x20          # more fragments
    elif how == 6:
        b[12:12] = b"\x81\x00\x00\x05"
    return bytes(b)


frames_st = st.lists(st.tuples(st.integers(0, 4), st.integers(0, 2), st.integers(0, 2), st.integers(0, 7),
                               st.integers(0, 50), st.integers(0, 12), st.integers(0, 200), st.integers(0, 255)),
                     min_size=1, max_size=60)

MASK_SETS = [
    F.storage_mask("in_port") | F.storage_mask("dl_type") | F.storage_mask("nw_dst"),
    F.storage_mask("in_port") | F.storage_mask("dl_type") | F.storage_mask("dl_dst") | F.storage_mask("tp_src")
    | F.storage_mask("nw_proto"),
    F.storage_mask("in_port") | F.storage_mask("dl_src") | F.storage_mask("dl_type") | F.storage_mask("nw_frag")
    | F.storage_mask("nw_ttl") | F.storage_mask("tcp_flags") | F.storage_mask("nw_proto"),
]


def _build(spec: list[tuple[int, ...]]) -> list[bytes]:
    out = []
    for kind, a, b, port, extra, how, where, value in spec:
        f = _frame(kind, a, b, port, extra)
        out.append(_mutate(f, how, where, value) if how <= 6 else f)
    return out


@settings(max_examples=150, deadline=None)
@given(frames_st, st.integers(0, 2), st.randoms(use_true_random=False))
# A TCP FIN+ACK frame whose data-offset byte is 1 (a header shorter than 20 bytes: extract gives no TCP fields).
@example(spec=[(1, 0, 1, 0, 3, 1, 46, 1)], mask_set=2, rnd=random.Random(3))
def test_groups_are_the_megaflows_of_the_extracted_keys(spec: list[tuple[int, ...]], mask_set: int,
                                                        rnd: random.Random) -> None:
    frames = _build(spec)
    caches = FlowCaches()
    mask = MASK_SETS[mask_set]
    # Install the megaflows of about half of the frames' keys.
    for f in frames:
        if rnd.random() < 0.5:
            key = extract(f, 1)
            if caches.peek(key) is None:
                caches.install(key, mask, ("out",))
    batch = PacketBatch.from_frames(frames)
    sc = SignatureCache()
    looked: list[int] = []

    def lookup_key(i: int) -> Megaflow | None:
        looked.append(i)
        return caches.peek(extract(frames[i], 1))

    for _ in range(2):     # The second pass answers from the remembered groups.
        flows, fid, flags = sc.classify(1, batch.buf, batch.offs, batch.lens, None, lookup_key)
        for i in range(len(frames)):
            key = extract(frames[i], 1)
            if fid[i] >= 0:
                assert caches.peek(key) is flows[fid[i]]
                want = F.storage_get(key, "tcp_flags") if F.storage_get(key, "nw_proto") == 6 else 0
                assert int(flags[i]) == want
        # A clean frame of the common shape whose megaflow exists is never left to the caller.
        for i, s in enumerate(spec):
            if s[0] in (0, 1, 2) and s[5] > 6 and caches.peek(extract(frames[i], 1)) is not None:
                assert fid[i] >= 0


def test_removed_flow_is_a_miss_and_vlan_from_the_kernel_goes_to_the_caller() -> None:
    caches = FlowCaches()
    f = udp4_frame(eth_src=MACS[0], eth_dst=MACS[1], ip_src=IPS[0], ip_dst=IPS[1], sport=1, dport=2)
    flow = caches.install(extract(f, 1), F.storage_mask("in_port") | F.storage_mask("dl_type"), ("a",))
    assert flow is not None
    sc = SignatureCache()
    batch = PacketBatch.from_frames([f, f, f])

    def classify(vlan: np.ndarray | None, port: int, answer: Megaflow | None) -> list[Megaflow | None]:
        flows, fid, _ = sc.classify(port, batch.buf, batch.offs, batch.lens, vlan, lambda i: answer)
        return [flows[j] if j >= 0 else None for j in fid.tolist()]

    assert classify(None, 1, flow) == [flow] * 3
    caches.remove(flow)
    assert classify(None, 1, None) == [None] * 3
    flow2 = caches.install(extract(f, 1), F.storage_mask("in_port"), ("b",))
    assert classify(np.array([-1, 0x81000005, -1]), 1, flow2) == [flow2, None, flow2]
    # Another input port has groups of its own.
    assert classify(None, 2, None) == [None] * 3


RULES = [(20, {"in_port": 1, "nw_proto": 6}, [Output(3)]),
         (15, {"in_port": 1, "dl_type": 0x0800, "nw_dst": 0x0A000002}, [Output(2), Output(3)]),
         (12, {"in_port": 1, "dl_type": 0x0800}, [SetField.of("ipv4", {"ttl": 9}, {"ttl": 0xFF}), Output(2)]),
         (10, {"in_port": 1}, [Output(2)]),
         (10, {"in_port": 2}, [Output(1)])]


@settings(max_examples=80, deadline=None)
@given(st.lists(frames_st, min_size=1, max_size=4))
def test_receive_batch_equals_receive(batches: list[list[tuple[int, ...]]]) -> None:
    """Frame for frame the same outputs, the same megaflows and the same flow statistics."""
    dp1, _, sent1, _ = make_dp(RULES)
    dp2, _, sent2, _ = make_dp(RULES)
    for spec in batches:
        frames = _build(spec)
        dp1.receive(1, frames)
        dp2.receive_batch(1, PacketBatch.from_frames(frames))
    # The same frames on each port (megaflows with the same actions leave together, so the order across
    # megaflows may differ; within one it is the batch's: see the next test).
    assert {p: sorted(v) for p, v in sent1.items()} == {p: sorted(v) for p, v in sent2.items()}

    def flows(dp: object) -> list[tuple[int, int, int, int, int]]:
        return sorted((f.key, f.mask, f.packets, f.bytes, f.tcp_flags) for f in dp.flow_dump())  # type: ignore[attr-defined]
    assert flows(dp1) == flows(dp2)
    s1, s2 = dp1.get_stats(), dp2.get_stats()
    assert (s1.n_hit, s1.n_missed, s1.n_lost) == (s2.n_hit, s2.n_missed, s2.n_lost)


def test_a_megaflows_frames_leave_in_batch_order() -> None:
    """Frames the classifier handles and frames it leaves (ARP, a TCP frame with an IP option) but that hit the
    same megaflow go out in the order they came."""
    dp, _, sent, _ = make_dp([(10, {"in_port": 1}, [Output(2)])])
    frames = []
    for i in range(30):
        f = _frame(i % 4, 0, 1, 0, i)
        frames.append(_mutate(f, 4, 0, 0) if i % 7 == 0 else f)
    dp.receive(1, frames)                 # Upcalls install the megaflows (one per EtherType here).
    sent[2].clear()
    dp.receive_batch(1, PacketBatch.from_frames(frames))
    assert sent[2] == frames


def test_output_only_megaflows_use_send_batch_with_offload_headers() -> None:
    """Frames of an output-only megaflow reach the device's send_batch with their virtio-net headers untouched; a
    megaflow that changes headers gets frames whose checksum offload was resolved."""
    dp, _, sent, _ = make_dp(RULES)
    got: list[tuple[list[bytes], list[bytes | None]]] = []

    class Dev:
        name, netdev_class = "dev2", "system"

        def send(self, frame: bytes, vnet: bytes | None = None) -> bool:
            got.append(([frame], [vnet]))
            return True

        def send_batch(self, batch: PacketBatch, idx: np.ndarray) -> None:
            got.append(([batch.frame(int(i)) for i in idx], [batch.vnet_hdr(int(i)) for i in idx]))

        def flush(self) -> None:
            pass

    dev = Dev()
    dp.set_port_send(2, dev.send, netdev=dev)  # type: ignore[arg-type]
    f = udp4_frame(eth_src=MACS[0], eth_dst=MACS[1], ip_src=IPS[0], ip_dst=IPS[2], sport=1, dport=2)
    # A UDP checksum left for the device: the pseudo-header sum in the field, NEEDS_CSUM in the header.
    partial = checksum_partial(f, 34, 17)
    assert partial != f
    vnet = bytes([1, 0, 0, 0, 0, 0, 34, 0, 6, 0])
    batch = PacketBatch.from_frames([partial] * 3, [vnet] * 3)
    want = udp4_frame(eth_src=MACS[0], eth_dst=MACS[1], ip_src=IPS[0], ip_dst=IPS[2], sport=1, dport=2, ttl=9)
    for _ in range(2):      # A miss (upcall), then a megaflow hit.
        dp.receive_batch(1, batch)   # The TTL is rewritten: offloads resolved first, then the actions.
        assert got == [([want], [None])] * 3
        got.clear()
    dp2, _, _, _ = make_dp([(10, {"in_port": 1}, [Output(2)])])
    dp2.set_port_send(2, dev.send, netdev=dev)  # type: ignore[arg-type]
    dp2.receive_batch(1, batch)                  # Miss: the upcall path, offloads resolved.
    dp2.receive_batch(1, batch)                  # Hit: copied with the header.
    assert got[-1] == ([partial] * 3, [vnet] * 3)
    assert sent[2] == []
