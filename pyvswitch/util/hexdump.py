"""Hex dumps in Open vSwitch's ``ovs_hex_dump`` format.

``ovs-ofctl`` prints undecodable messages this way (after ``***decode error: ...***``), and logs bad actions
the same way without the ASCII column.  Each line shows 16 bytes: the offset of the line (``%08x``, rounded
down to 16), two spaces, each byte as ``%02x`` followed by ``-`` after the 8th byte of the line and a space
otherwise; with ``ascii`` the short last line is padded to full width and followed by ``|``, the bytes as ASCII
(0x20-0x7e as themselves, others as ``.``, padded with spaces to 16) and ``|``.  Without ``ascii``, trailing
spaces are dropped, as ``ds_put_hex_dump`` leaves them out of log lines.
"""

from __future__ import annotations

__all__ = ["hexdump"]

_PER_LINE = 16


def hexdump(data: bytes, ofs: int = 0, ascii: bool = True) -> str:
    """``data`` as ``ovs_hex_dump`` prints it, starting at offset ``ofs``; lines end in newlines."""
    out = []
    pos = 0
    size = len(data)
    while pos < size:
        start = ofs % _PER_LINE
        end = min(_PER_LINE, start + (size - pos))
        line = [f"{ofs - start:08x}  ", "   " * start]
        chunk = data[pos:pos + end - start]
        for i, b in enumerate(chunk, start):
            line.append(f"{b:02x}{'-' if i == _PER_LINE // 2 - 1 else ' '}")
        if ascii:
            line.append("   " * (_PER_LINE - end))
            line.append("|" + " " * start)
            line.append("".join(chr(b) if 32 <= b < 127 else "." for b in chunk))
            line.append(" " * (_PER_LINE - end) + "|")
            out.append("".join(line))
        else:
            out.append("".join(line).rstrip(" "))
        pos += end - start
        ofs += end - start
    return "".join(s + "\n" for s in out)
