"""Field values in ovs-ofctl text (``pyvswitch.flow.values``).

Every expected string here was observed with Debian's ``ovs-ofctl`` 3.1 (``ovs-ofctl parse-flow``), including the
C-library quirks OVS inherits (octal integers, wrapping address bytes) and its error messages word for word.
"""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pyvswitch.flow import fields as F
from pyvswitch.flow import values as V
from pyvswitch.util import vlog


def f(name: str) -> F.Field:
    return F.BY_NAME[name]


# -- integers -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,value,mask", [
    ("5", 5, 0xFFFFFFFF),
    ("0x10", 0x10, 0xFFFFFFFF),
    ("0X10", 0x10, 0xFFFFFFFF),
    ("010", 8, 0xFFFFFFFF),                  # strtoull base 0: octal
    ("0x", 0, 0xFFFFFFFF),                   # "0x" with no digits is zero
    ("+5", 5, 0xFFFFFFFF),
    ("0x0000000000000001", 1, 0xFFFFFFFF),   # leading zeros do not count against the width
    ("5/0xf0", 5, 0xF0),
    ("0x/0x", 0, 0),
    ("*", 0, 0),
])
def test_integer_values(text: str, value: int, mask: int) -> None:
    assert V.parse_field(f("reg0"), text) == (value, mask)


@pytest.mark.parametrize("field,text,message", [
    ("reg0", "08", "08: bad syntax for reg0 value"),
    ("reg0", "5/", "5/: bad syntax for reg0 mask"),
    ("reg0", "/5", "/5: bad syntax for reg0 value"),
    ("reg0", "0xg", "0xg: bad syntax for reg0 value"),
    ("reg0", "-5", "-5: value too large for 4-byte field reg0"),
    ("reg0", "0x100000000", "0x100000000: value too large for 4-byte field reg0"),
    ("reg0", "1/0x100000000", "1/0x100000000: mask too large for 4-byte field reg0"),
    ("reg0", "99999999999999999999", "99999999999999999999: value too large for 4-byte field reg0"),
    ("nw_ttl", "256", "256: value too large for 1-byte field nw_ttl"),
    ("nw_ttl", "5/3", "5/3: invalid mask for field nw_ttl"),
    ("tcp_dst", "65536", "65536: value too large for 2-byte field tcp_dst"),
    ("tcp_dst", "5/0x10000", "5/0x10000: mask too large for 2-byte field tcp_dst"),
    ("eth_type", "1/0xf0", "1/0xf0: invalid mask for field eth_type"),
    ("ct_label", "340282366920938463463374607431768211455",
     "340282366920938463463374607431768211455: value too large for 16-byte field ct_label"),
    ("tun_metadata0", "18446744073709551616",
     "18446744073709551616: value too large for 124-byte field tun_metadata0"),
])
def test_integer_errors(field: str, text: str, message: str) -> None:
    with pytest.raises(V.FieldValueError) as e:
        V.parse_field(f(field), text)
    assert str(e.value) == message


def test_negative_64_bit_wraps() -> None:
    assert V.parse_field(f("metadata"), "-1") == ((1 << 64) - 1, (1 << 64) - 1)


def test_long_hex_for_tunnel_metadata() -> None:
    text = "0x" + "ff" * 124
    assert V.parse_field(f("tun_metadata3"), text)[0] == (1 << (124 * 8)) - 1


# -- addresses ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,value,mask", [
    ("1.2.3.4", 0x01020304, 0xFFFFFFFF),
    ("1.2.3.4/24", 0x01020304, 0xFFFFFF00),
    ("1.2.3.4/024", 0x01020304, 0xFFFFFF00),       # the prefix is decimal
    ("1.2.3.4/+24", 0x01020304, 0xFFFFFF00),
    ("1.2.3.4/255.0.255.0", 0x01020304, 0xFF00FF00),
    ("01.2.3.4", 0x01020304, 0xFFFFFFFF),
    ("1.2.3.256", 0x01020300, 0xFFFFFFFF),         # %hhu wraps
    ("-1.2.3.4", 0xFF020304, 0xFFFFFFFF),
])
def test_ipv4(text: str, value: int, mask: int) -> None:
    assert V.parse_field(f("ip_src"), text) == (value, mask)


@pytest.mark.parametrize("text,message", [
    ("1.2.3", "1.2.3: invalid IP address"),
    ("1.2.3.4/33", "1.2.3.4/33: IPv4 network prefix bits not between 0 and 32, inclusive"),
    ("1.2.3.4/-1", "1.2.3.4/-1: IPv4 network prefix bits not between 0 and 32, inclusive"),
    ("1.2.3.4/x", "1.2.3.4/x: invalid IP address"),
    ("1.2.3.4/24.5", "1.2.3.4/24.5: invalid IP address"),
    ("0x1.2.3.4", "0x1.2.3.4: invalid IP address"),
    ("foo", "foo: invalid IP address"),
])
def test_ipv4_errors(text: str, message: str) -> None:
    with pytest.raises(V.FieldValueError) as e:
        V.parse_field(f("ip_src"), text)
    assert str(e.value) == message


@pytest.mark.parametrize("text,message", [
    ("::1/129", "::1/129: IPv6 network prefix bits not between 0 and 128, inclusive"),
    ("::1/-1", "::1/-1: IPv6 network prefix bits not between 0 and 128, inclusive"),
    ("::1/ffff::x", "::1/ffff::x: invalid IPv6 address"),
    ("::1/ffff:", "::1/ffff:: Invalid IPv6 mask"),
    ("1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7:8:9: invalid IPv6 address"),
    ("fe80::1%eth0", "fe80::1%eth0: invalid IPv6 address"),
    ("::1/64/2", "::1/64/2: invalid IPv6 address"),
])
def test_ipv6_errors(text: str, message: str) -> None:
    with pytest.raises(V.FieldValueError) as e:
        V.parse_field(f("ipv6_src"), text)
    assert str(e.value) == message


def test_ipv6_prints_like_glibc() -> None:
    v, m = V.parse_field(f("ipv6_src"), "::ffff:1.2.3.4")
    assert V.format_masked(f("ipv6_src"), v, m) == "::ffff:1.2.3.4"
    v, m = V.parse_field(f("ipv6_src"), "2001:DB8:0:0:0:0:0:1/ffff:ffff::")
    assert V.format_masked(f("ipv6_src"), v, m) == "2001:db8::1/32"


@pytest.mark.parametrize("text,value", [
    ("1:2:3:4:5:6", 0x010203040506),
    ("001:2:3:4:5:6", 0x010203040506),
    ("0x1:2:3:4:5:6", 0x010203040506),
    ("1ff:2:3:4:5:6", 0xFF0203040506),
    ("-1:2:3:4:5:6", 0xFF0203040506),
])
def test_mac(text: str, value: int) -> None:
    assert V.parse_field(f("eth_src"), text) == (value, (1 << 48) - 1)


@pytest.mark.parametrize("text", ["1:2:3:4:5", "1:2:3:4:5:6:7", "1-2-3-4-5-6", "0x010203040506",
                                  "1:2:3:4:5:6/", "1:2:3:4:5:6x", "01:02:03:04:05:06/xx"])
def test_mac_errors(text: str) -> None:
    with pytest.raises(V.FieldValueError) as e:
        V.parse_field(f("eth_src"), text)
    assert str(e.value) == f"{text}: invalid Ethernet address"


# -- ports --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,port,log", [
    ("1", 1, None),
    ("+5", 5, None),
    ("05", 5, None),
    ("local", 0xFFFE, None),
    ("NONE", 0xFFFF, None),
    ("table", 0xFFF9, None),
    ("4294967294", 0xFFFE, None),
    ("65280", 65280, ("ofp_port|WARN|port 65280 is a reserved OF1.0 port number that will be translated to "
                     "4294967040 when talking to an OF1.1 or later controller")),
    ("65534", 0xFFFE, ("ofp_port|WARN|referring to port LOCAL as 65534 is deprecated for compatibility with "
                      "OpenFlow 1.1 and later")),
    ("65536", None, ("ofp_port|WARN|port 65536 is outside the supported range 0 through ffff or 0xffffff00 "
                    "through 0xffffffff")),
    ("-1", None, "ofp_port|WARN|Negative value -1 is not a valid port number."),
    ("0xfff8", None, None),
    ("4294967296", None, None),
])
def test_ports(text: str, port: int | None, log: str | None) -> None:
    V._deprecated_port_warned = False
    with vlog.capture() as lines:
        assert V.parse_port(text) == port
    assert [vlog.strip_prefix(x) for x in lines] == ([log] if log else [])


def test_port_errors_name_the_field() -> None:
    with pytest.raises(V.FieldValueError, match="^foo: invalid or unknown port for in_port$"):
        V.parse_field(f("in_port"), "foo")
    with pytest.raises(V.FieldValueError, match="^0xfffffff8: port value out of range for in_port_oxm$"):
        V.parse_field(f("in_port_oxm"), "0xfffffff8")


def test_port_names_print() -> None:
    assert V.format_port(0xFFFF) == "ANY"
    assert V.format_port(0xFFF7) == "UNSET"
    assert V.format_port(7) == "7"


# -- flags, fragments, packet types -------------------------------------------------------------------------------

@pytest.mark.parametrize("field,text,value,mask", [
    ("tcp_flags", "+syn-ack", 0x2, 0x12),
    ("tcp_flags", "syn|ack", 0x12, 0xFFFF),
    ("tcp_flags", "0x12/0xff", 0x12, 0xFF),
    ("tcp_flags", "+[200]", 0x200, 0x200),
    ("ct_state", "+trk-inv", 0x20, 0x30),
    ("ct_state", "trk|", 0x20, 0xFFFFFFFF),
    ("ct_state", "trk|0x1", 0x21, 0xFFFFFFFF),
    ("tun_flags", "oam", 1, 0xFFFF),
    ("tun_flags", "1/1", 1, 1),
])
def test_flags(field: str, text: str, value: int, mask: int) -> None:
    assert V.parse_field(f(field), text) == (value, mask)


@pytest.mark.parametrize("field,text,message", [
    ("tcp_flags", "+syn+syn", "syn: Each TCP flag can be specified only once"),
    ("tcp_flags", "+syn-syn", "syn: Each TCP flag can be specified only once"),
    ("tcp_flags", "+foo", "foo: unknown TCP flag(s)"),
    ("tcp_flags", "syn+ack", "syn+ack: unknown TCP flag(s)"),
    ("tcp_flags", "+syn/0x2", "syn/0x2: unknown TCP flag(s)"),
    ("tcp_flags", "+", ": unknown TCP flag(s)"),
    ("tcp_flags", "0x1000", "0x1000: unknown TCP flag(s)"),
    ("ct_state", "0xff/0x1ff", "0xff/0x1ff: unknown ct_state flag(s)"),
    ("ct_state", "+Trk", "Trk: unknown ct_state flag(s)"),
    ("ct_state", "|trk", "|trk: unknown ct_state flag(s)"),
    ("tun_flags", "0x2", "0x2: unknown tunnel flag(s)"),
    ("ip_frag", "maybe", ('maybe: unknown fragment type (valid types are "no", "yes", "first", "later", '
                         '"not_later"')),
    ("packet_type", "1", "1: bad syntax for packet type missing '('"),
    ("packet_type", "(1;2)", "1;2): bad syntax for packet type missing ','"),
    ("packet_type", "(1,0x800", "0x800: bad syntax for packet type missing ')'"),
    ("packet_type", "(65536,1)", "65536,1): bad syntax for packet type ns"),
])
def test_flag_and_enum_errors(field: str, text: str, message: str) -> None:
    with pytest.raises(V.FieldValueError) as e:
        V.parse_field(f(field), text)
    assert str(e.value) == message


def test_frag_names_are_case_insensitive() -> None:
    assert V.parse_field(f("ip_frag"), "YES") == V.parse_field(f("ip_frag"), "yes")


@pytest.mark.parametrize("v,m,text", [(0x800 | (1 << 16), 0xFFFFFFFF, "packet_type=(1,0x800)"),
                                      (1, 0xFFFFFFFF, "packet_type=(0,1)"), (0, 0xFFFFFFFF, "eth")])
def test_packet_type_format(v: int, m: int, text: str) -> None:
    assert V.format_packet_type(v, m) == text


def test_flag_formats() -> None:
    assert V.format_flags_masked(0x12, 0xFFF, V.tcp_flag_name, 0xFFF) == "syn|ack"
    assert V.format_flags_masked(0x2, 0x12, V.tcp_flag_name, 0xFFF) == "+syn-ack"
    assert V.format_flags_masked(0, 0, V.tcp_flag_name, 0xFFF) == "0/0"
    assert V.format_flags(0xE00, V.tcp_flag_name) == "[200]|[400]|[800]"


# -- round trips over the field table -----------------------------------------------------------------------------

_INT_FIELDS = [x for x in F.FIELDS if x.fmt in (F.Format.DECIMAL, F.Format.HEX) and x.nbytes <= 16]


@st.composite
def int_values(draw: st.DrawFn) -> tuple[F.Field, int, int]:
    fld = draw(st.sampled_from(_INT_FIELDS))
    full = (1 << (8 * fld.nbytes)) - 1
    v = draw(st.integers(0, full))
    m = full if not fld.maskable else draw(st.sampled_from([full, draw(st.integers(1, full))]))
    return fld, v, m


@settings(max_examples=300, deadline=None)
@given(int_values())
def test_integer_round_trip(item: tuple[F.Field, int, int]) -> None:
    fld, v, m = item
    text = V.format_masked(fld, v, m)
    assert V.parse_field(fld, text) == (v, m)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([x for x in F.FIELDS if x.fmt in (F.Format.IPV4, F.Format.IPV6, F.Format.ETHERNET)]),
       st.data())
def test_address_round_trip(fld: F.Field, data: st.DataObject) -> None:
    full = (1 << (8 * fld.nbytes)) - 1
    v = data.draw(st.integers(0, full))
    m = data.draw(st.sampled_from([full, data.draw(st.integers(1, full))]))
    text = V.format_masked(fld, v, m)
    # OVS reads "/0:0:0:1::" as prefix length 0 followed by junk (an error); it prints such masks all the same,
    # so they are the one form that does not round-trip, in OVS as here.
    mask_text = text.partition("/")[2]
    assume(not (fld.fmt is F.Format.IPV6 and mask_text[:1].isdigit() and ":" in mask_text
                and not mask_text.isdigit()))
    pv, pm = V.parse_field(fld, text)
    assert (pv & pm, pm) == (v & m, m)
