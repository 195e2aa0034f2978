"""The field reference (docs/fields.md), generated from the field table so the two cannot drift apart.

``python -m pyvswitch.flow.fielddoc > docs/fields.md`` regenerates it; a test checks the file is current.
"""

from __future__ import annotations

import re
import sys

from pyvswitch.flow import fields as F

_GROUPS = [
    ("Tunnel", r"^tun_"),
    ("Metadata", (r"^(in_port|in_port_oxm|skb_priority|pkt_mark|actset_output|packet_type|recirc_id|dp_hash|"
                  r"conj_id|metadata)$")),
    ("Connection tracking", r"^ct_"),
    ("Registers", r"^x*reg\d+$"),
    ("Layer 2", r"^(eth_|vlan_|dl_vlan)"),
    ("MPLS", r"^mpls_"),
    ("Layer 3", r"^(ip_|ipv6_|nw_|arp_)"),
    ("Layer 4", r"^(tcp_|udp_|sctp_|icmp|nd_)"),
]


def _header_text(f: F.Field) -> str:
    out = []
    for h in f.headers:
        ver = {0: "", 3: " (OF1.2+)", 4: " (OF1.3+)", 5: " (OF1.4+)", 6: " (OF1.5+)"}[h.of_version]
        out.append(f"`{h.name}` ({h.oxm_field}){ver}")
    return ", ".join(out) or "none"


def render() -> str:
    lines = [
        "# Flow fields",
        "",
        "Generated from `pyvswitch/flow/fields.py` by `python -m pyvswitch.flow.fielddoc`; do not edit by hand.",
        "Names, widths, masking, prerequisites and NXM/OXM numbers follow Open vSwitch (ovs-fields(7)); a test",
        "checks them against that page.  *Key bits* is where the field lives in pyvswitch's integer flow key.",
        "",
    ]
    seen: set[str] = set()
    for title, pattern in _GROUPS:
        group = [f for f in F.FIELDS if re.search(pattern, f.name) and f.name not in seen]
        tun_md = [f for f in group if f.name.startswith("tun_metadata")]
        if tun_md:
            group = [f for f in group if not f.name.startswith("tun_metadata") or f.name == "tun_metadata0"]
        if not group:
            continue
        lines += [f"## {title}", "",
                  "| field | aliases | bits | maskable | prerequisites | writable | format | NXM/OXM | key bits |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for f in group:
            seen.add(f.name)
            name = f"`{f.name}`" + (" ... `tun_metadata63`" if f.name == "tun_metadata0" else "")
            aliases = ", ".join(f"`{a}`" for a in f.aliases) or ""
            bits = f"{f.nbytes * 8}" + (f" ({f.value_mask:#x})" if f.value_mask != (1 << (f.nbytes * 8)) - 1 else "")
            key_bits = f"{f.ofs}..{f.ofs + f.value_mask.bit_length() - 1}"
            lines.append(f"| {name} | {aliases} | {bits} | {'yes' if f.maskable else 'no'} | {f.prereq.value} | "
                         f"{'yes' if f.writable else 'no'} | {f.fmt.value} | {_header_text(f)} | {key_bits} |")
        if tun_md:
            seen.update(f.name for f in tun_md)
        lines.append("")
    missing = [f.name for f in F.FIELDS if f.name not in seen]
    assert not missing, missing
    lines += ["## Hidden key slots", "",
              "Not OpenFlow fields: the datapath keeps them in the key so that megaflows can tell packets apart.", "",
              "| slot | bits | key bits |", "|---|---|---|"]
    for name in F.HIDDEN:
        ofs, bits = F.STORAGE[name]
        lines.append(f"| `{name}` | {bits} | {ofs}..{ofs + bits - 1} |")
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(render())
