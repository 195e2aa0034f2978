"""``tap`` and ``internal`` ports against real TAP devices (names pvt..., addresses in 10.252.0.0/16), with the
kernel's own IP stack as the other end: ARP, UDP with a partial checksum, and a TCP connection whose segments come
out as TSO super-frames and go in as one."""

from __future__ import annotations

import os
import select
import socket
import struct
import subprocess
import time

import pytest

from pyvswitch.netdev import linux
from pyvswitch.netdev import netdev_tap as tap
from pyvswitch.netdev.netdev import VNET_HDR_LEN, NetdevError, PacketBatch, create, registered_types
from pyvswitch.packet.checksum import internet_checksum, pseudo_header_sum

PEER_MAC = bytes.fromhex("020000aa0002")
_seq = iter(range(1, 10_000))


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


def _name(prefix: str) -> str:
    return f"pvt{prefix}{os.getpid() % 100000}{next(_seq)}"[:15]


def _subnet() -> tuple[str, str]:
    """Two addresses of a /30 unlikely to be used by anyone else: (the device's, the peer's)."""
    n = (os.getpid() * 7 + next(_seq)) % 16000
    third, fourth = n // 64, (n % 64) * 4
    return f"10.252.{third}.{fourth + 1}", f"10.252.{third}.{fourth + 2}"


@pytest.fixture
def internal():
    """An ``internal`` port, up, with an address, and the peer's address as a permanent neighbour."""
    name = _name("i")
    dev = create(name, "internal", {})
    try:
        mine, peer = _subnet()
        _ip("link", "set", name, "up")
        _ip("addr", "add", f"{mine}/30", "dev", name)
        _ip("neigh", "replace", peer, "lladdr", PEER_MAC.hex(":"), "dev", name, "nud", "permanent")
        dev.poll()
        yield dev, mine, peer
    finally:
        dev.close()
        _ip("link", "del", name, check=False)


def _recv_until(dev, want, timeout: float = 5.0) -> list[tuple[bytes, bytes]]:
    """(vnet header, frame) of the frames received until ``want(frame)`` is true for one, or the timeout."""
    got: list[tuple[bytes, bytes]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        select.select([dev.rx_fileno()], [], [], 0.2)
        batch = dev.recv_batch()
        if batch is None:
            continue
        assert batch.vnet
        frames = [(batch.vnet_hdr(i), batch.frame(i)) for i in range(len(batch))]
        batch.release()
        got += frames
        if any(want(f) for _, f in frames):
            break
    return got


def _ip4(src: str, dst: str, proto: int, payload: bytes, ident: int = 1) -> bytes:
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0x4000, 64, proto, 0,
                      socket.inet_aton(src), socket.inet_aton(dst))
    return hdr[:10] + internet_checksum(hdr).to_bytes(2, "big") + hdr[12:] + payload


def _eth(dst: bytes, ethertype: int, payload: bytes) -> bytes:
    return dst + PEER_MAC + struct.pack("!H", ethertype) + payload


def _l4_csum(src: str, dst: str, proto: int, seg: bytes) -> int:
    return internet_checksum(seg, pseudo_header_sum(socket.inet_aton(src), socket.inet_aton(dst), proto, len(seg)))


def test_registered_and_described_as_tap():
    assert {"tap", "internal"} <= set(registered_types())
    name = _name("c")
    dev = create(name, "internal", {})
    try:
        assert dev.netdev_class == "tap" and dev.type == "internal"
        info = linux.link_info(name)
        assert info is not None and info.kind == "tun"
        # As Open vSwitch leaves it: down, promiscuous, persistent, with the kernel's random address.
        assert not dev.admin_up() and not dev.carrier() and not info.admin_up
        details = _ip("-d", "link", "show", name).stdout
        assert "PROMISC" in details and "persist on" in details and "vnet_hdr on" in details
        assert dev.get_etheraddr() == info.mac and dev.get_mtu() == 1500
        assert set(dev.stats_map()) == set(linux.STATS_NAMES)
        assert dev.rx_fileno() is not None and dev.recv_batch() is None
        assert dev.error() is None
    finally:
        dev.close()
    # Closing the port removes the device.
    assert linux.link_info(name) is None


def test_arp_request_answered_and_counted(internal):
    dev, mine, peer = internal
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, PEER_MAC, socket.inet_aton(peer), bytes(6),
                      socket.inet_aton(mine))
    request = _eth(b"\xff" * 6, 0x0806, arp)
    before = dev.stats_map()
    assert dev.send(request)

    def is_reply(f: bytes) -> bool:
        return f[12:14] == b"\x08\x06" and f[20:22] == b"\x00\x02"

    got = _recv_until(dev, is_reply)
    replies = [(h, f) for h, f in got if is_reply(f)]
    assert len(replies) == 1
    hdr, reply = replies[0]
    assert hdr == bytes(VNET_HDR_LEN)
    assert reply[:6] == PEER_MAC and reply[6:12].hex(":") == dev.get_etheraddr()
    assert reply[28:32] == socket.inet_aton(mine) and reply[38:42] == socket.inet_aton(peer)
    assert dev.stats.tx_packets == 1 and dev.stats.tx_bytes == len(request)
    assert dev.stats.rx_packets == len(got) and dev.stats.rx_bytes == sum(len(f) for _, f in got)
    dev.poll()  # reads the kernel's counters now
    after = dev.stats_map()
    # The kernel received the request (the switch transmitted it) and transmitted the reply and more.
    assert after["tx_packets"] == before["tx_packets"] + 1
    assert after["tx_bytes"] == before["tx_bytes"] + len(request)
    assert after["rx_packets"] >= before["rx_packets"] + len(got)


def test_partial_udp_checksum_is_completed_by_the_kernel(internal):
    dev, mine, peer = internal
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((mine, 0))
    sock.settimeout(3)
    port = sock.getsockname()[1]
    try:
        def udp(payload: bytes, ident: int) -> tuple[bytes, int]:
            seg = struct.pack("!HHHH", 40000, port, 8 + len(payload), 0) + payload
            partial = pseudo_header_sum(socket.inet_aton(peer), socket.inet_aton(mine), 17, len(seg))
            seg = seg[:6] + partial.to_bytes(2, "big") + seg[8:]
            return _eth(bytes.fromhex(dev.get_etheraddr().replace(":", "")), 0x0800, _ip4(peer, mine, 17, seg,
                                                                                        ident)), partial
        # Only the pseudo-header sum in the checksum field: wrong as it stands, so the kernel drops it...
        frame, _ = udp(b"not delivered", 1)
        assert dev.send(frame)
        # ...unless the virtio-net header says the checksum is still to be completed (NEEDS_CSUM from offset 34,
        # field at 6 in the UDP header), in which case it is delivered.
        frame, _ = udp(b"delivered", 2)
        assert dev.send(frame, struct.pack("=BBHHHH", 1, 0, 0, 0, 34, 6))
        data, addr = sock.recvfrom(100)
        assert data == b"delivered" and addr == (peer, 40000)
        sock.settimeout(0.3)
        with pytest.raises(TimeoutError):
            sock.recvfrom(100)
        assert dev.stats.tx_packets == 2
    finally:
        sock.close()


def _tcp(src: str, dst: str, sport: int, dport: int, seq: int, ack: int, flags: int, payload: bytes = b"",
         opts: bytes = b"") -> bytes:
    off = (20 + len(opts)) // 4
    seg = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, off << 4, flags, 65535, 0, 0) + opts + payload
    c = _l4_csum(src, dst, 6, seg)
    return seg[:16] + c.to_bytes(2, "big") + seg[18:]


def test_tcp_offloads_both_ways(internal):
    """The kernel connects to the peer (us): its SYN has a partial checksum, its data comes as a TSO super-frame,
    and a super-frame we send with a GSO header reaches the socket as the data of several segments."""
    dev, mine, peer = internal
    dev_mac = bytes.fromhex(dev.get_etheraddr().replace(":", ""))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        sock.connect_ex((peer, 7777))

        def tcp_from_kernel(f: bytes) -> bool:
            return f[12:14] == b"\x08\x00" and f[23] == 6

        syns = [(h, f) for h, f in _recv_until(dev, tcp_from_kernel) if tcp_from_kernel(f)]
        assert syns
        hdr, syn = syns[0]
        flags, _gso, _hdr_len, _gso_size, csum_start, csum_offset = struct.unpack("=BBHHHH", hdr)
        assert flags & 1 and csum_start == 34 and csum_offset == 16       # NEEDS_CSUM, TCP checksum field
        sport = struct.unpack("!H", syn[34:36])[0]
        kseq = struct.unpack("!I", syn[38:42])[0]
        # SYN-ACK with MSS 1000, complete checksum, no vnet header.
        synack = _tcp(peer, mine, 7777, sport, 1000, kseq + 1, 0x12, opts=struct.pack("!BBH", 2, 4, 1000))
        assert dev.send(_eth(dev_mac, 0x0800, _ip4(peer, mine, 6, synack)))
        select.select([], [sock], [], 3)
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
        # The kernel sends its first flight (ten segments of 1000 bytes) as super-frames.
        sock.send(b"k" * 8000)

        def data(f: bytes) -> bool:
            return tcp_from_kernel(f) and len(f) > 54

        got = [(h, f) for h, f in _recv_until(dev, lambda f: False, timeout=1.0) if data(f)]
        # Reassembled by sequence number (a tail-loss probe may repeat the last segment): all 8,000 bytes.
        stream = bytearray(8000)
        covered = set()
        for _, f in got:
            start = struct.unpack("!I", f[38:42])[0] - kseq - 1
            stream[start:start + len(f) - 54] = f[54:]
            covered.update(range(start, start + len(f) - 54))
        assert covered == set(range(8000)) and stream == b"k" * 8000
        supers = [(h, f) for h, f in got if len(f) > 1054]
        assert supers
        flags, gso_type, _hdr_len, gso_size, csum_start, csum_offset = struct.unpack("=BBHHHH", supers[0][0])
        assert gso_type == 1 and gso_size == 1000 and flags & 1 and (csum_start, csum_offset) == (34, 16)
        # A 3,000-byte super-frame from us, to be cut into segments of 1000 bytes, checksum partial.
        payload = bytes(range(256)) * 11 + b"x" * 184
        seg = struct.pack("!HHIIBBHHH", 7777, sport, 1001, kseq + 1 + 8000, 5 << 4, 0x18, 65535, 0, 0) + payload
        partial = pseudo_header_sum(socket.inet_aton(peer), socket.inet_aton(mine), 6, len(seg))
        seg = seg[:16] + partial.to_bytes(2, "big") + seg[18:]
        vnet = struct.pack("=BBHHHH", 1, 1, 54, 1000, 34, 16)
        assert dev.send(_eth(dev_mac, 0x0800, _ip4(peer, mine, 6, seg, ident=7)), vnet)
        select.select([sock], [], [], 3)
        received = b""
        deadline = time.monotonic() + 3
        while len(received) < len(payload) and time.monotonic() < deadline:
            select.select([sock], [], [], 0.2)
            try:
                received += sock.recv(65536)
            except BlockingIOError:
                pass
        assert received == payload
    finally:
        sock.close()


def test_recv_batch_bounds_and_send_batch(internal):
    dev, mine, peer = internal
    dev_mac = bytes.fromhex(dev.get_etheraddr().replace(":", ""))
    echo = [_eth(dev_mac, 0x0800, _ip4(peer, mine, 1, _icmp_echo(i), ident=i)) for i in range(6)]
    # send_batch over a batch without headers, then one with headers (all zero: complete frames).
    dev.send_batch(PacketBatch.from_frames(echo[:3]), [0, 1, 2])
    dev.send_batch(PacketBatch.from_frames(echo[3:], [bytes(VNET_HDR_LEN)] * 3), range(3))
    assert dev.stats.tx_packets == 6

    def is_reply(f: bytes) -> bool:
        return f[12:14] == b"\x08\x00" and f[23] == 1 and f[34] == 0

    deadline = time.monotonic() + 5
    replies: list[bytes] = []
    while len(replies) < 6 and time.monotonic() < deadline:
        select.select([dev.rx_fileno()], [], [], 0.2)
        batch = dev.recv_batch(max_frames=2)
        if batch is None:
            continue
        assert 1 <= len(batch) <= 2
        replies += [f for f in batch.frames() if is_reply(f)]
        batch.release()
    assert sorted(struct.unpack("!H", f[40:42])[0] for f in replies) == list(range(6))


def _icmp_echo(seq: int) -> bytes:
    msg = struct.pack("!BBHHH", 8, 0, 0, 0x4242, seq) + b"pyvswitch" * 4
    return msg[:2] + internet_checksum(msg).to_bytes(2, "big") + msg[4:]


def test_poll_sees_changes_and_mtu():
    name = _name("m")
    dev = create(name, "internal", {})
    try:
        assert dev.poll() is False
        _ip("link", "set", name, "up")
        assert dev.poll() is True and dev.admin_up() and dev.carrier()
        assert dev.poll() is False
        dev.set_mtu(9000)
        assert dev.get_mtu() == 9000 and linux.link_info(name).mtu == 9000
        with pytest.raises(NetdevError, match=rf"^{name}: .*\(Invalid argument\)"):
            dev.set_mtu(20)
        _ip("link", "set", name, "address", "02:00:00:00:11:22")
        assert dev.poll() is True and dev.get_etheraddr() == "02:00:00:00:11:22"
        dev.set_etheraddr("02:00:00:00:11:33")
        assert dev.get_etheraddr() == "02:00:00:00:11:33"
        # A frame written while the device is down is dropped and counted.
        _ip("link", "set", name, "down")
        assert dev.poll() is True
        assert dev.send(bytes(60)) is False
        assert dev.stats.tx_dropped == 1 and dev.stats_map()["tx_dropped"] >= 1
    finally:
        dev.close()
    assert linux.link_info(name) is None


def test_tap_on_existing_and_missing_device():
    existing, missing = _name("e"), _name("n")
    _ip("tuntap", "add", "dev", existing, "mode", "tap")
    try:
        index = linux.link_info(existing).ifindex
        dev = create(existing, "tap", {})
        try:
            assert dev.netdev_class == "tap" and linux.link_info(existing).ifindex == index
            # Only one file may be attached to a single-queue TAP.
            with pytest.raises(NetdevError, match=rf"^could not open network device {existing} "
                                                  r"\(Device or resource busy\)$"):
                create(existing, "tap", {})
        finally:
            dev.close()
        # As in Open vSwitch, deleting the port removes the device, though the switch did not create it.
        assert linux.link_info(existing) is None
        dev = create(missing, "tap", {})
        try:
            assert linux.link_info(missing).kind == "tun"
        finally:
            dev.close()
        assert linux.link_info(missing) is None
    finally:
        _ip("link", "del", existing, check=False)
        _ip("link", "del", missing, check=False)


def test_open_errors():
    veth = _name("v")
    _ip("link", "add", veth, "type", "veth", "peer", "name", f"{veth}p"[:15])
    try:
        with pytest.raises(NetdevError, match=rf"^could not open network device {veth} \(Invalid argument\)$"):
            create(veth, "internal", {})
        assert linux.link_info(veth).kind == "veth"
    finally:
        _ip("link", "del", veth, check=False)
    with pytest.raises(NetdevError, match=r"^could not open network device pvtnamemuchtoolong0 "
                                          r"\(Invalid argument\)$"):
        create("pvtnamemuchtoolong0", "tap", {})


def test_vanished_device():
    name = _name("g")
    dev = create(name, "internal", {})
    try:
        _ip("link", "set", name, "up")
        assert dev.poll() is True
        _ip("link", "del", name)
        # The file notices before any poll: reads fail with EBADFD, which makes the device vanished.
        assert dev.recv_batch() is None
        assert dev.error() == f"could not open network device {name} (No such device)"
        assert dev.poll() is False          # already known
        assert not dev.admin_up() and not dev.carrier()
        assert dev.send(bytes(60)) is False
        dev.send_batch(PacketBatch.from_frames([bytes(60)] * 2), [0, 1])
        assert dev.stats.tx_dropped == 3
        assert dev.stats_map()["tx_dropped"] >= 3
        with pytest.raises(NetdevError, match=r"No such device"):
            dev.set_mtu(1400)
    finally:
        dev.close()
    # A device deleted and created again under the same name is not the port's device either.
    dev = create(name, "internal", {})
    try:
        _ip("link", "del", name)
        _ip("tuntap", "add", "dev", name, "mode", "tap")
        assert dev.poll() is True
        assert dev.error() == f"could not open network device {name} (No such device)"
    finally:
        dev.close()
        _ip("link", "del", name, check=False)


def test_rx_slot_holds_a_super_frame():
    assert tap.RX_SLOT >= VNET_HDR_LEN + 14 + 65535
