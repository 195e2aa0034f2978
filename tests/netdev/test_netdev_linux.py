"""``system`` ports (AF_PACKET rings) on a real veth pair whose other end is in a network namespace of the test's
own: frames both ways byte for byte, VLAN tags the kernel took out put back, frames too big for a ring slot,
promiscuous reception, offload headers, link changes and a device that vanishes."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator

import numpy as np
import pytest

from pyvswitch.netdev.netdev import NetdevError, PacketBatch
from pyvswitch.netdev.netdev_linux import SystemNetdev

PREFIX = f"pvl{os.getpid() % 100000}"
NS = f"{PREFIX}n"
OUT, IN = f"{PREFIX}o", f"{PREFIX}i"   # OUT in our namespace, IN in NS.

# A helper run inside the namespace: "send HEX..." writes raw frames on IN; "recv SECONDS" prints every frame
# received on IN (hex, one per line) until the time is up.
_HELPER = r"""
import socket, sys, time, select
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((sys.argv[1], 0))
if sys.argv[2] == "send":
    for h in sys.argv[3:]:
        s.send(bytes.fromhex(h))
else:
    print("ready", flush=True)
    end = time.time() + float(sys.argv[3])
    while time.time() < end:
        if select.select([s], [], [], 0.05)[0]:
            data, addr = s.recvfrom(65535)
            if addr[2] != socket.PACKET_OUTGOING:
                print(data.hex(), flush=True)
"""


def sh(cmd: str) -> None:
    subprocess.run(cmd, shell=True, check=True, capture_output=True)


def quiet(cmd: str) -> None:
    subprocess.run(cmd, shell=True, capture_output=True, check=False)


@pytest.fixture
def veth() -> Iterator[tuple[str, str]]:
    subprocess.run(f"ip netns del {NS}", shell=True, capture_output=True, check=False)
    subprocess.run(f"ip link del {OUT}", shell=True, capture_output=True, check=False)
    try:
        sh(f"ip netns add {NS}")
        sh(f"ip link add {OUT} type veth peer name {IN}")
        sh(f"ip link set {IN} netns {NS}")
        sh(f"ip link set {OUT} up && ip -n {NS} link set {IN} up")
        # No IPv6 chatter (router solicitations...) to confuse what the tests count.
        sh(f"ip netns exec {NS} sysctl -qw net.ipv6.conf.all.disable_ipv6=1")
        sh(f"sysctl -qw net.ipv6.conf.{OUT}.disable_ipv6=1")
        yield OUT, IN
    finally:
        subprocess.run(f"ip netns del {NS}", shell=True, capture_output=True, check=False)
        subprocess.run(f"ip link del {OUT}", shell=True, capture_output=True, check=False)


def ns_send(frames: list[bytes]) -> None:
    subprocess.run(["ip", "netns", "exec", NS, sys.executable, "-c", _HELPER, IN, "send",
                    *[f.hex() for f in frames]], check=True, timeout=10)


class NsCapture:
    def __init__(self, seconds: float) -> None:
        self.p = subprocess.Popen(["ip", "netns", "exec", NS, sys.executable, "-c", _HELPER, IN, "recv",
                                   str(seconds)], stdout=subprocess.PIPE, text=True)
        assert self.p.stdout is not None
        assert self.p.stdout.readline().strip() == "ready"

    def frames(self) -> list[bytes]:
        out, _ = self.p.communicate(timeout=20)
        return [bytes.fromhex(line) for line in out.split()]


TAGS_FROM_KERNEL: list[int] = []


def receive(dev: SystemNetdev, n: int, timeout: float = 3.0) -> tuple[list[bytes], list[bytes | None]]:
    frames: list[bytes] = []
    hdrs: list[bytes | None] = []
    end = time.monotonic() + timeout
    while len(frames) < n and time.monotonic() < end:
        select.select([dev.rx_fileno()], [], [], 0.05)
        batch = dev.recv_batch()
        if batch is None:
            continue
        frames += batch.frames()
        if batch.vlan is not None:
            TAGS_FROM_KERNEL.extend(int(v) for v in batch.vlan if v >= 0)
        hdrs += [batch.vnet_hdr(i) for i in range(len(batch))]
        batch.release()
    return frames, hdrs


def frame(dst: str, src: str, ethertype: int, payload: bytes) -> bytes:
    return bytes.fromhex(dst.replace(":", "")) + bytes.fromhex(src.replace(":", "")) + \
        ethertype.to_bytes(2, "big") + payload


def test_missing_device_is_a_netdev_error() -> None:
    with pytest.raises(NetdevError, match=r"could not open network device pvlnosuch0 \(No such device\)"):
        SystemNetdev("pvlnosuch0", "system")


def test_frames_both_ways_byte_for_byte(veth: tuple[str, str]) -> None:
    dev = SystemNetdev(OUT, "system")
    try:
        assert dev.netdev_class == "system" and dev.admin_up() and dev.carrier()
        # To a foreign unicast address: received because the socket asks for promiscuous mode.
        sent = [frame("02:11:22:33:44:55", "02:00:00:00:00:0a", 0x88B5, bytes([i]) * (46 + i * 40))
                for i in range(5)]
        # A tagged frame: veth hands the tag to the stack out of band; the batch puts it back.
        sent.append(frame("02:11:22:33:44:55", "02:00:00:00:00:0a", 0x8100,
                          (0x2000 | 42).to_bytes(2, "big") + b"\x88\xb5" + b"t" * 60))
        ns_send(sent)
        TAGS_FROM_KERNEL.clear()
        got, hdrs = receive(dev, len(sent))
        assert got == sent
        assert TAGS_FROM_KERNEL == [0x8100_0000 | 0x2000 | 42]
        assert all(h == bytes(10) for h in hdrs)
        assert dev.stats.rx_packets == len(sent)

        # Out: one by one, as a batch copied from another batch, and one too big for a transmit slot.
        sh(f"ip link set {OUT} mtu 9000 && ip -n {NS} link set {IN} mtu 9000")
        cap = NsCapture(1.5)
        single = frame("02:00:00:00:00:0a", "02:11:22:33:44:55", 0x88B5, b"s" * 50)
        big = frame("02:00:00:00:00:0a", "02:11:22:33:44:55", 0x88B5, bytes(range(256)) * 20)
        assert dev.send(single)
        batch = PacketBatch.from_frames(sent[:5], [bytes(10)] * 5)
        dev.send_batch(batch, np.array([4, 0, 2]))
        assert dev.send(big)
        dev.flush()
        out = cap.frames()
        assert out == [single, sent[4], sent[0], sent[2], big]
        assert dev.stats.tx_packets == 5 and dev.stats.tx_dropped == 0
    finally:
        dev.close()


def test_link_changes_and_a_vanished_device(veth: tuple[str, str]) -> None:
    dev = SystemNetdev(OUT, "system")
    try:
        mac = dev.get_etheraddr()
        assert dev.poll() is False
        sh(f"ip link set {OUT} mtu 1400")
        assert dev.poll() is True and dev.get_mtu() == 1400
        dev.set_mtu(1450)
        assert dev.get_mtu() == 1450
        sh(f"ip -n {NS} link set {IN} down")
        assert dev.poll() is True and dev.carrier() is False and dev.admin_up() is True
        sh(f"ip link set {OUT} address 02:aa:bb:cc:dd:ee")
        assert dev.poll() is True and dev.get_etheraddr() == "02:aa:bb:cc:dd:ee" != mac
        assert dev.stats_map()["tx_packets"] >= 0 and "rx_multicast_packets" in dev.stats_map()
        sh(f"ip link del {OUT}")
        assert dev.poll() is True
        assert dev.error() == f"could not open network device {OUT} (No such device)"
        # Nothing raises any more: frames are dropped and counted.
        dev.send(frame("02:00:00:00:00:0a", "02:11:22:33:44:55", 0x88B5, b"x" * 50))
        dev.flush()
        dev.recv_batch()
    finally:
        dev.close()
    assert dev.recv_batch() is None and dev.send(b"x" * 60) is False


def test_tcp_offloads_cross_between_two_ports(veth: tuple[str, str]) -> None:
    """A TCP stream between two namespaces, bridged by this process frame for frame (ring to ring): the kernel
    hands over super-frames with checksums to complete, and they are delivered as such, correctly."""
    ns2, out2, in2 = f"{PREFIX}m", f"{PREFIX}p", f"{PREFIX}q"
    subprocess.run(f"ip netns del {ns2}", shell=True, capture_output=True, check=False)
    server = None
    try:
        sh(f"ip netns add {ns2} && ip link add {out2} type veth peer name {in2} && ip link set {in2} netns {ns2}")
        sh(f"ip link set {out2} up && ip -n {ns2} link set {in2} up && ip -n {ns2} link set lo up")
        sh(f"ip -n {NS} addr add 10.251.0.1/24 dev {IN} && ip -n {ns2} addr add 10.251.0.2/24 dev {in2}")
        a, b = SystemNetdev(OUT, "system"), SystemNetdev(out2, "system")
        server = subprocess.Popen(["ip", "netns", "exec", ns2, sys.executable, "-c",
                                   ("import socket\ns=socket.socket();s.bind(('10.251.0.2',7000));s.listen()\n"
                                    "print('ready',flush=True);c,_=s.accept();n=0\n"
                                    "while (d:=c.recv(1<<16)): n+=len(d)\nprint(n)")],
                                  stdout=subprocess.PIPE, text=True)
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        client = subprocess.Popen(["ip", "netns", "exec", NS, sys.executable, "-c",
                                   ("import socket\ns=socket.create_connection(('10.251.0.2',7000),timeout=10)\n"
                                    "s.sendall(bytes(range(256))*16000);s.close()")])
        ep = select.epoll()
        ep.register(a.rx_fileno(), select.EPOLLIN)
        ep.register(b.rx_fileno(), select.EPOLLIN)
        pairs = {a.rx_fileno(): (a, b), b.rx_fileno(): (b, a)}
        offloaded = 0
        end = time.monotonic() + 20
        # Until the server has read everything (the client's FIN must cross too).
        while server.poll() is None and time.monotonic() < end:
            for fd, _ in ep.poll(0.05):
                src, dst = pairs[fd]
                batch = src.recv_batch()
                if batch is None:
                    continue
                offloaded += sum(1 for i in range(len(batch)) if (batch.vnet_hdr(i) or b"\0")[0])
                dst.send_batch(batch, np.arange(len(batch)))
                dst.flush()
                batch.release()
        assert client.wait(5) == 0
        out, _ = server.communicate(timeout=10)
        assert out.strip() == str(256 * 16000)
        assert offloaded > 0
        csum = subprocess.run(f"ip netns exec {ns2} cat /proc/net/snmp", shell=True, capture_output=True,
                              text=True, check=False).stdout.splitlines()
        tcp = [line.split() for line in csum if line.startswith("Tcp:")]
        assert tcp[1][tcp[0].index("InCsumErrors")] == "0"
        a.close()
        b.close()
    finally:
        if server is not None and server.poll() is None:
            server.kill()
        subprocess.run(f"ip netns del {ns2}", shell=True, capture_output=True, check=False)
        subprocess.run(f"ip link del {out2}", shell=True, capture_output=True, check=False)


def test_a_batch_bigger_than_the_transmit_ring(veth: tuple[str, str]) -> None:
    """More frames than the ring has slots, in one call: all of them leave, and the ring stays usable (a slot
    written twice before the kernel sent it once made the kernel's position and the switch's part for good)."""
    from pyvswitch.netdev.netdev_linux import TX_FRAME_NR

    def delivered() -> int:
        out = subprocess.run(["ip", "netns", "exec", NS, "cat", f"/sys/class/net/{IN}/statistics/rx_packets"],
                             capture_output=True, text=True, check=True).stdout
        return int(out)

    dev = SystemNetdev(OUT, "system")
    try:
        n = TX_FRAME_NR + 1500
        frames = [frame("02:00:00:00:00:0a", "02:11:22:33:44:55", 0x88B5, i.to_bytes(4, "big") * 12)
                  for i in range(n)]
        before = delivered()
        dev.send_batch(PacketBatch.from_frames(frames, [bytes(10)] * n), np.arange(n))
        end = time.monotonic() + 5
        while dev.flush() and time.monotonic() < end:
            time.sleep(0.001)
        for _ in range(3):
            dev.send(frames[0])
            dev.flush()
        end = time.monotonic() + 5
        while delivered() - before < n + 3 and time.monotonic() < end:
            time.sleep(0.05)
        assert delivered() - before == n + 3 - dev.stats.tx_dropped
        assert dev.stats.tx_dropped < n // 2
    finally:
        dev.close()


def test_super_frame_to_a_device_without_offloads(veth: tuple[str, str]) -> None:
    """A TSO super-frame of a single segment (the kernel makes them for retransmissions) sent to a device with
    transmit offloads off arrives with a correct checksum: segmentation in software, not a silent drop."""
    import struct

    from pyvswitch.netdev.offload import checksum_partial
    from pyvswitch.packet.build import tcp4_frame
    from pyvswitch.packet.checksum import internet_checksum

    sh(f"ethtool -K {OUT} tx off")
    dev = SystemNetdev(OUT, "system")
    try:
        full = tcp4_frame(eth_src="02:00:00:00:00:0a", eth_dst="02:11:22:33:44:55", ip_src="10.9.0.1",
                          ip_dst="10.9.0.2", sport=1000, dport=2000, tcp_flags=0x18, payload=b"p" * 300)
        partial = checksum_partial(full, 34, 6)
        vnet = struct.pack("<BBHHHH", 1, 1, 54, 1448, 34, 16)
        cap = NsCapture(1.0)
        batch = PacketBatch.from_frames([partial], [vnet])
        dev.send_batch(batch, np.array([0]))
        dev.flush()
        got = [f for f in cap.frames() if f[12:14] == b"\x08\x00"]
        assert got == [full]
        tcp = got[0][34:]
        pseudo = got[0][26:34] + struct.pack("!BBH", 0, 6, len(tcp))
        assert internet_checksum(pseudo + tcp) == 0
    finally:
        dev.close()
