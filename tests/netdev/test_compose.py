"""``netdev-dummy/receive`` text -> frame, byte for byte as Open vSwitch 3.1 composes it (or its error).

The cases and their frames/errors were recorded from a real ovs-vswitchd 3.1 by
tests/data/netdev/compose_capture.py (frames read back from the port's ``rxq_pcap``)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from pyvswitch.netdev.netdev_dummy import parse_packet

DATA = json.loads((Path(__file__).resolve().parents[1] / "data" / "netdev" / "compose_cases.json").read_text())
CASES = DATA["cases"]


def test_recorded_from_ovs_31_with_enough_cases() -> None:
    assert DATA["ovs"].startswith("ovs-vswitchd (Open vSwitch) 3.1")
    assert len(CASES) >= 100
    assert sum("error" in c for c in CASES) >= 20 and sum("frame" in c for c in CASES) >= 100


@pytest.mark.parametrize("case", CASES, ids=range(len(CASES)))
def test_compose_like_ovs(case: dict[str, str]) -> None:
    text = case["packet"]
    if "frame" in case:
        assert parse_packet(text).hex() == case["frame"]
    else:
        with pytest.raises(ValueError) as e:
            parse_packet(text)
        assert str(e.value) == case["error"]


def test_ofctl_syntax_only_on_request() -> None:
    text = "udp,nw_src=10.0.0.1,nw_dst=10.0.0.2,tp_dst=53"
    with pytest.raises(ValueError, match=f"^syntax error at {text}$"):
        parse_packet(text)
    frame = parse_packet(text, ofctl_syntax=True)
    odp = ("eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,tos=0,ttl=64,frag=no),udp(src=0,dst=53)")
    assert frame == parse_packet(odp)
    assert parse_packet("0x" + "ff" * 14, ofctl_syntax=True) == b"\xff" * 14
    with pytest.raises(ValueError, match="^syntax error at nosuch=1$"):
        parse_packet("nosuch=1", ofctl_syntax=True)


def test_mangled_text_gives_a_frame_or_a_value_error() -> None:
    """Whatever the text, the command gets a frame or an error message: nothing else escapes."""
    rng = random.Random(11)
    texts = [c["packet"] for c in CASES]
    extra = ["encap(" * 5000 + ")" * 5000, "eth_type(0x8100),vlan(vid=1),encap(" * 3000, "(" * 10000,
             "ufid:" + "0" * 10000, "\x00", "\u00e9", "ct_state(+new-est", "tunnel(flags(key)"]
    for n in range(4000):
        t = rng.choice(texts)
        for _ in range(rng.randint(1, 4)):
            p = rng.randint(0, len(t))
            op = rng.randint(0, 2)
            t = (t[:p] + rng.choice("(),=/|+-:. 0x19afzenc_\t") + t[p:] if op == 0 else t[:p] + t[p + 1:]
                 if op == 1 else t[:p] + t[rng.randint(0, len(t)):p + 5] + t[p:])
        text = extra[n] if n < len(extra) else t
        try:
            frame = parse_packet(text)
        except ValueError as e:
            assert str(e)
        else:
            assert len(frame) >= 14
