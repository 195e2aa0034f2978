"""The field table against the facts documented in ovs-fields(7).

The man page ships with Debian's openvswitch-common (which `make test` installs); its field reference is a
table per field (name, width, masking, prerequisites, access, OpenFlow 1.0/1.1 support, OXM and NXM ids).  This
test reads the page's source and checks every documented field against `pyvswitch.flow.fields`, so a mistake in the
table (a wrong NXM number, a field that is maskable in OVS but not here) fails here, not in a controller.
"""

from __future__ import annotations

import gzip
import itertools
import re
from pathlib import Path

import pytest

from pyvswitch.flow import fields as F
from pyvswitch.flow.fields import Prereq, Support

MAN = Path("/usr/share/man/man7/ovs-fields.7.gz")

# Documented fields this table does not carry yet (NSH, ERSPAN and GTP-U tunnels, and two ND fields OVS added for
# a vendor).  They are listed so that a new field appearing in the man page fails the test instead of being missed.
NOT_YET = {
    "tun_erspan_ver", "tun_erspan_idx", "tun_erspan_dir", "tun_erspan_hwid", "tun_gtpu_flags", "tun_gtpu_msgtype",
    "nsh_flags", "nsh_ttl", "nsh_mdtype", "nsh_np", "nsh_spi", "nsh_si", "nsh_c1", "nsh_c2", "nsh_c3", "nsh_c4",
    "nd_reserved", "nd_options_type",
}


def _clean(s: str) -> str:
    s = re.sub(r"\\f[BIRP]", "", s)
    s = s.replace("\\[char46]", ".").replace("\\[char59]", ";").replace("\\-", "-").replace("\\(em", "-")
    return " ".join(s.split())


def _documented() -> list[dict[str, str]]:
    with gzip.open(MAN, "rt") as f:
        text = f.read().splitlines()
    blocks: list[dict[str, str]] = []
    cur: dict[str, str] | None = None
    key = None
    in_t = False
    for line in text:
        m = re.match(r"^(Name|Width|Format|Masking|Prerequisites|Access|OpenFlow 1\.0|OpenFlow 1\.1|OXM|NXM):;(.*)$",
                     line)
        if m:
            if m.group(1) == "Name":
                cur = {}
                blocks.append(cur)
            assert cur is not None
            key = m.group(1)
            val = m.group(2)
            if val == "T{":
                in_t = True
                cur[key] = ""
            else:
                cur[key] = _clean(val)
            continue
        if in_t and cur is not None and key:
            if line == "T}":
                in_t = False
            else:
                cur[key] = (cur[key] + " " + _clean(line)).strip()
    return blocks


DOCUMENTED = _documented()


def _names(b: dict[str, str]) -> tuple[str, list[str]]:
    m = re.match(r"(\S+)(?: \(aka (.*)\))?$", b["Name"])
    assert m, b["Name"]
    aliases = [a.strip() for a in (m.group(2) or "").split(",") if a.strip()]
    return m.group(1), aliases


def test_man_page_was_read() -> None:
    assert len(DOCUMENTED) > 80


@pytest.mark.parametrize("doc", DOCUMENTED, ids=lambda b: b["Name"].split()[0])
def test_field_matches_documentation(doc: dict[str, str]) -> None:
    name, aliases = _names(doc)
    if name in NOT_YET:
        assert name not in F.BY_NAME
        return
    f = F.field(name)
    assert f.name == name
    for a in aliases:
        assert F.field(a) is f, a

    m = re.match(r"(\d+) bits(?: \((\d+) bytes\))?(?: \(only the least-significant (\d+) bits may be nonzero\))?",
                 doc["Width"])
    assert m, doc["Width"]
    width = int(m.group(1))
    assert f.nbytes * 8 == width, (f.nbytes, width)
    nonzero = int(m.group(3)) if m.group(3) else width
    assert f.value_mask.bit_length() <= nonzero

    assert f.maskable == (doc["Masking"] != "not maskable")
    assert f.prereq is Prereq(doc["Prerequisites"])
    assert f.writable == (doc["Access"] == "read/write")

    def support(s: str) -> Support:
        if s == "not supported":
            return Support.NO
        if s == "yes":
            return Support.YES
        return Support(re.match(r"yes \((.*)\)", s).group(1))  # type: ignore[union-attr]

    assert f.of10 is support(doc["OpenFlow 1.0"])
    assert f.of11 is support(doc["OpenFlow 1.1"])

    documented_headers = []
    for part in (doc["OXM"] + ";" + doc["NXM"]).split(";"):
        part = part.strip()
        if not part or part == "none":
            continue
        hm = re.match(r"(\w+) \((\d+)\) since (?:OpenFlow (1\.\d) and )?Open vSwitch", part)
        assert hm, part
        documented_headers.append((hm.group(1), int(hm.group(2)), hm.group(3)))
    ours = {h.name: h for h in f.headers}
    for hname, num, ofver in documented_headers:
        if name.startswith("tun_metadata") and hname.startswith("NXM_NX_TUN_METADATA"):
            hname = f"NXM_NX_TUN_METADATA{name[12:]}"
            num = 40 + int(name[12:])
        assert hname in ours, (hname, list(ours))
        assert ours[hname].oxm_field == num
        if ofver:
            assert ours[hname].of_version == {"1.2": 3, "1.3": 4, "1.4": 5, "1.5": 6}[ofver]
    assert len(ours) == len(documented_headers) or not documented_headers and not ours


def test_every_table_field_is_documented_or_known_extra() -> None:
    documented = {_names(b)[0] for b in DOCUMENTED}
    # The man page documents one representative of families (reg0, xreg0, xxreg0, tun_metadata0) and leaves out
    # a few fields that ovs-ofctl accepts all the same (recirc_id, dp_hash, vlan_tci views of OpenFlow 1.0).
    extra = {"recirc_id", "dp_hash", "dl_vlan", "dl_vlan_pcp"}
    for f in F.FIELDS:
        base = re.sub(r"\d+$", "0", f.name)
        assert f.name in documented or base in documented or f.name in extra, f.name


def test_key_layout_is_consistent() -> None:
    # Every field lies inside its storage slot; storage slots do not overlap.
    spans = sorted(F.STORAGE.values())
    for (o1, b1), (o2, _) in itertools.pairwise(spans):
        assert o1 + b1 <= o2
    for f in F.FIELDS:
        so, sb = F.STORAGE[f.storage]
        assert so <= f.ofs and f.ofs + f.value_mask.bit_length() <= so + sb, f.name


def test_overlays() -> None:
    key = F.put(0, F.field("xxreg0"), 0x00112233_44556677_8899AABB_CCDDEEFF)
    assert F.get(key, F.field("reg0")) == 0x00112233
    assert F.get(key, F.field("reg3")) == 0xCCDDEEFF
    assert F.get(key, F.field("xreg1")) == 0x8899AABB_CCDDEEFF
    key = F.put(0, F.field("nw_tos"), 0xB8 | 3)   # the low (ECN) bits are not part of nw_tos
    assert F.get(key, F.field("ip_dscp")) == 0x2E
    assert F.get(key, F.field("nw_ecn")) == 0
    key = F.put(key, F.field("nw_ecn"), 2)
    assert F.get(key, F.field("nw_tos")) == 0xB8
    key = F.put(0, F.field("vlan_tci"), 0xA00A | 0x1000)
    assert F.get(key, F.field("vlan_vid")) == 10 and F.get(key, F.field("vlan_pcp")) == 5
    # Fields sharing storage: ICMP type is the low byte of tp_src, ARP addresses are nw_src/nw_dst.
    assert F.field("icmp_type").ofs == F.field("tp_src").ofs
    assert F.field("arp_spa").key_mask == F.field("nw_src").key_mask
    assert F.field("nd_sll").key_mask == F.field("arp_sha").key_mask


def test_header_lookup() -> None:
    assert F.field("NXM_OF_ETH_SRC") is F.field("dl_src")
    assert F.BY_HEADER[(F.OXM_OF, 11, 0)] is F.field("ip_src")
    assert F.BY_HEADER[(F.NXM_NX, 0, 0)] is F.field("reg0")
    with pytest.raises(KeyError):
        F.field("no_such_field")


def test_field_docs_are_current() -> None:
    from pyvswitch.flow import fielddoc
    doc = Path(__file__).resolve().parents[2] / "docs" / "fields.md"
    assert doc.read_text() == fielddoc.render(), "run: python -m pyvswitch.flow.fielddoc > docs/fields.md"
