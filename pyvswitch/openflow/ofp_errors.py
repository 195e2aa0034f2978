"""OpenFlow error names, as Open vSwitch spells them, and their type/code numbers in each OpenFlow version.

The codec reports what it rejects with ``OFPDecodeError(name)``, where ``name`` is Open vSwitch's name of the
error (``OFPBMC_BAD_PREREQ``, ``OFPBAC_UNSUPPORTED_ORDER``...): that is what ``ovs-ofctl`` prints after
``***decode error:`` and what users search for.  The numbers on the wire differ between OpenFlow versions (the
bad-match errors do not exist in OpenFlow 1.0, the bad-action codes were renumbered in 1.1, ...); ``ERRORS`` maps
each name to its ``(type, code)`` per version family, from the OpenFlow 1.0, 1.1, 1.3 and 1.5 specifications.
Names that a version cannot express have no entry for it; Open vSwitch then sends a Nicira extension error
(``NX_VENDOR_ID`` 0x2320 with a vendor-specific code), listed in ``NX_ERRORS`` with the numbers of
``include/openvswitch/ofp-errors.h``'s comments.
"""

from __future__ import annotations

__all__ = ["ERRORS", "KNOWN_NAMES", "NX_ERRORS", "OFPDecodeError", "error_type_code"]


class OFPDecodeError(Exception):
    """An OpenFlow message the decoder rejects.  ``code`` is Open vSwitch's name of the OpenFlow error
    (``str(e)`` too), ``detail`` an optional human-readable explanation (the log line Open vSwitch would write)."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail

    def __str__(self) -> str:
        return self.code


# Version families: "1.0", "1.1", "1.2+" (1.2 to 1.5 share their numbers unless listed under "1.5").
_T10 = {"HELLO_FAILED": 0, "BAD_REQUEST": 1, "BAD_ACTION": 2, "FLOW_MOD_FAILED": 3, "PORT_MOD_FAILED": 4,
        "QUEUE_OP_FAILED": 5}
_T11 = {"HELLO_FAILED": 0, "BAD_REQUEST": 1, "BAD_ACTION": 2, "BAD_INSTRUCTION": 3, "BAD_MATCH": 4,
        "FLOW_MOD_FAILED": 5, "GROUP_MOD_FAILED": 6, "PORT_MOD_FAILED": 7, "TABLE_MOD_FAILED": 8,
        "QUEUE_OP_FAILED": 9, "SWITCH_CONFIG_FAILED": 10, "ROLE_REQUEST_FAILED": 11, "METER_MOD_FAILED": 12,
        "TABLE_FEATURES_FAILED": 13, "BAD_PROPERTY": 14}

# name -> (type name, {family: code})
_CODES: dict[str, tuple[str, dict[str, int]]] = {
    # Bad request.
    "OFPBRC_BAD_VERSION": ("BAD_REQUEST", {"1.0": 0, "1.1": 0, "1.2+": 0}),
    "OFPBRC_BAD_TYPE": ("BAD_REQUEST", {"1.0": 1, "1.1": 1, "1.2+": 1}),
    "OFPBRC_BAD_STAT": ("BAD_REQUEST", {"1.0": 2, "1.1": 2, "1.2+": 2}),
    "OFPBRC_BAD_VENDOR": ("BAD_REQUEST", {"1.0": 3, "1.1": 3, "1.2+": 3}),
    "OFPBRC_BAD_SUBTYPE": ("BAD_REQUEST", {"1.0": 4, "1.1": 4, "1.2+": 4}),
    "OFPBRC_EPERM": ("BAD_REQUEST", {"1.0": 5, "1.1": 5, "1.2+": 5}),
    "OFPBRC_BAD_LEN": ("BAD_REQUEST", {"1.0": 6, "1.1": 6, "1.2+": 6}),
    "OFPBRC_BUFFER_EMPTY": ("BAD_REQUEST", {"1.0": 7, "1.1": 7, "1.2+": 7}),
    "OFPBRC_BUFFER_UNKNOWN": ("BAD_REQUEST", {"1.0": 8, "1.1": 8, "1.2+": 8}),
    "OFPBRC_BAD_TABLE_ID": ("BAD_REQUEST", {"1.1": 9, "1.2+": 9}),
    "OFPBRC_IS_SLAVE": ("BAD_REQUEST", {"1.2+": 10}),
    "OFPBRC_BAD_PORT": ("BAD_REQUEST", {"1.2+": 11}),
    "OFPBRC_BAD_PACKET": ("BAD_REQUEST", {"1.2+": 12}),
    "OFPBRC_MULTIPART_BUFFER_OVERFLOW": ("BAD_REQUEST", {"1.2+": 13}),
    # Bad action.
    "OFPBAC_BAD_TYPE": ("BAD_ACTION", {"1.0": 0, "1.1": 0, "1.2+": 0}),
    "OFPBAC_BAD_LEN": ("BAD_ACTION", {"1.0": 1, "1.1": 1, "1.2+": 1}),
    "OFPBAC_BAD_VENDOR": ("BAD_ACTION", {"1.0": 2, "1.1": 2, "1.2+": 2}),
    "OFPBAC_BAD_VENDOR_TYPE": ("BAD_ACTION", {"1.0": 3, "1.1": 3, "1.2+": 3}),
    "OFPBAC_BAD_OUT_PORT": ("BAD_ACTION", {"1.0": 4, "1.1": 4, "1.2+": 4}),
    "OFPBAC_BAD_ARGUMENT": ("BAD_ACTION", {"1.0": 5, "1.1": 5, "1.2+": 5}),
    "OFPBAC_EPERM": ("BAD_ACTION", {"1.0": 6, "1.1": 6, "1.2+": 6}),
    "OFPBAC_TOO_MANY": ("BAD_ACTION", {"1.0": 7, "1.1": 7, "1.2+": 7}),
    "OFPBAC_BAD_QUEUE": ("BAD_ACTION", {"1.0": 8, "1.1": 8, "1.2+": 8}),
    "OFPBAC_BAD_OUT_GROUP": ("BAD_ACTION", {"1.1": 9, "1.2+": 9}),
    "OFPBAC_MATCH_INCONSISTENT": ("BAD_ACTION", {"1.1": 10, "1.2+": 10}),
    "OFPBAC_UNSUPPORTED_ORDER": ("BAD_ACTION", {"1.1": 11, "1.2+": 11}),
    "OFPBAC_BAD_TAG": ("BAD_ACTION", {"1.1": 12, "1.2+": 12}),
    "OFPBAC_BAD_SET_TYPE": ("BAD_ACTION", {"1.2+": 13}),
    "OFPBAC_BAD_SET_LEN": ("BAD_ACTION", {"1.2+": 14}),
    "OFPBAC_BAD_SET_ARGUMENT": ("BAD_ACTION", {"1.2+": 15}),
    "OFPBAC_BAD_SET_MASK": ("BAD_ACTION", {"1.5": 16}),
    # Bad instruction.
    "OFPBIC_UNKNOWN_INST": ("BAD_INSTRUCTION", {"1.1": 0, "1.2+": 0}),
    "OFPBIC_UNSUP_INST": ("BAD_INSTRUCTION", {"1.1": 1, "1.2+": 1}),
    "OFPBIC_BAD_TABLE_ID": ("BAD_INSTRUCTION", {"1.1": 2, "1.2+": 2}),
    "OFPBIC_UNSUP_METADATA": ("BAD_INSTRUCTION", {"1.1": 3, "1.2+": 3}),
    "OFPBIC_UNSUP_METADATA_MASK": ("BAD_INSTRUCTION", {"1.1": 4, "1.2+": 4}),
    "OFPBIC_BAD_EXPERIMENTER": ("BAD_INSTRUCTION", {"1.1": 5, "1.2+": 5}),
    "OFPBIC_BAD_EXP_TYPE": ("BAD_INSTRUCTION", {"1.2+": 6}),
    "OFPBIC_BAD_LEN": ("BAD_INSTRUCTION", {"1.2+": 7}),
    "OFPBIC_EPERM": ("BAD_INSTRUCTION", {"1.2+": 8}),
    "OFPBIC_DUP_INST": ("BAD_INSTRUCTION", {"1.5": 9}),
    # Bad match.
    "OFPBMC_BAD_TYPE": ("BAD_MATCH", {"1.1": 0, "1.2+": 0}),
    "OFPBMC_BAD_LEN": ("BAD_MATCH", {"1.1": 1, "1.2+": 1}),
    "OFPBMC_BAD_TAG": ("BAD_MATCH", {"1.1": 2, "1.2+": 2}),
    "OFPBMC_BAD_DL_ADDR_MASK": ("BAD_MATCH", {"1.1": 3, "1.2+": 3}),
    "OFPBMC_BAD_NW_ADDR_MASK": ("BAD_MATCH", {"1.1": 4, "1.2+": 4}),
    "OFPBMC_BAD_WILDCARDS": ("BAD_MATCH", {"1.1": 5, "1.2+": 5}),
    "OFPBMC_BAD_FIELD": ("BAD_MATCH", {"1.1": 6, "1.2+": 6}),
    "OFPBMC_BAD_VALUE": ("BAD_MATCH", {"1.1": 7, "1.2+": 7}),
    "OFPBMC_BAD_MASK": ("BAD_MATCH", {"1.2+": 8}),
    "OFPBMC_BAD_PREREQ": ("BAD_MATCH", {"1.2+": 9}),
    "OFPBMC_DUP_FIELD": ("BAD_MATCH", {"1.2+": 10}),
    "OFPBMC_EPERM": ("BAD_MATCH", {"1.2+": 11}),
    # Flow-mod failed.  OpenFlow 1.0 numbers differ (no UNKNOWN, no BAD_TABLE_ID).
    "OFPFMFC_UNKNOWN": ("FLOW_MOD_FAILED", {"1.1": 0, "1.2+": 0}),
    "OFPFMFC_TABLE_FULL": ("FLOW_MOD_FAILED", {"1.0": 0, "1.1": 1, "1.2+": 1}),
    "OFPFMFC_BAD_TABLE_ID": ("FLOW_MOD_FAILED", {"1.1": 2, "1.2+": 2}),
    "OFPFMFC_OVERLAP": ("FLOW_MOD_FAILED", {"1.0": 1, "1.1": 3, "1.2+": 3}),
    "OFPFMFC_EPERM": ("FLOW_MOD_FAILED", {"1.0": 2, "1.1": 4, "1.2+": 4}),
    "OFPFMFC_BAD_EMERG_TIMEOUT": ("FLOW_MOD_FAILED", {"1.0": 3}),
    "OFPFMFC_BAD_TIMEOUT": ("FLOW_MOD_FAILED", {"1.1": 5, "1.2+": 5}),
    "OFPFMFC_BAD_COMMAND": ("FLOW_MOD_FAILED", {"1.0": 4, "1.1": 6, "1.2+": 6}),
    "OFPFMFC_UNSUPPORTED": ("FLOW_MOD_FAILED", {"1.0": 5}),
    "OFPFMFC_BAD_FLAGS": ("FLOW_MOD_FAILED", {"1.2+": 7}),
    # Bad property (OpenFlow 1.4+; Open vSwitch uses the same names in every version).
    "OFPBPC_BAD_TYPE": ("BAD_PROPERTY", {"1.5": 0}),
    "OFPBPC_BAD_LEN": ("BAD_PROPERTY", {"1.5": 1}),
    "OFPBPC_BAD_VALUE": ("BAD_PROPERTY", {"1.5": 2}),
    "OFPBPC_TOO_MANY": ("BAD_PROPERTY", {"1.5": 3}),
    "OFPBPC_DUP_TYPE": ("BAD_PROPERTY", {"1.5": 4}),
    "OFPBPC_BAD_EXPERIMENTER": ("BAD_PROPERTY", {"1.5": 5}),
    "OFPBPC_BAD_EXP_TYPE": ("BAD_PROPERTY", {"1.5": 6}),
    "OFPBPC_BAD_EXP_VALUE": ("BAD_PROPERTY", {"1.5": 7}),
    "OFPBPC_EPERM": ("BAD_PROPERTY", {"1.5": 8}),
    # Meter-mod failed.
    "OFPMMFC_INVALID_METER": ("METER_MOD_FAILED", {"1.2+": 2}),
    "OFPMMFC_UNKNOWN_METER": ("METER_MOD_FAILED", {"1.2+": 3}),
}

NX_ERRORS: dict[str, int] = {
    # Nicira extension errors (vendor 0x2320).  Open vSwitch sends these where the OpenFlow version has no
    # number for an error; the codes are those of ofp-errors.h ("NX1.0-1.1(N)" / "NX1.2+(N)").
    "OFPBMC_BAD_MASK": 0x100 | 1,
    "OFPBMC_BAD_PREREQ": 0x100 | 4,
    "OFPBMC_DUP_FIELD": 0x100 | 5,
    "OFPBAC_BAD_SET_TYPE": 0x100 | 18,
    "OFPBAC_BAD_SET_LEN": 0x100 | 19,
    "OFPBAC_BAD_SET_ARGUMENT": 0x100 | 20,
    "NXBRC_NXM_INVALID": 0x100,
    "NXBRC_MUST_BE_ZERO": 0x100 | 12,
    "NXBAC_MUST_BE_ZERO": 0x100 | 526,
    "NXBAC_BAD_CONJUNCTION": 0x100 | 529,
    "NXBAC_BAD_HEADER_TYPE": 0x100 | 532,
    "NXBAC_UNKNOWN_ED_PROP": 0x100 | 533,
    "NXBAC_BAD_ED_PROP": 0x100 | 534,
    "NXFMFC_INVALID_TLV_FIELD": 0x100 | 3,
}

ERRORS: dict[str, dict[str, tuple[int, int]]] = {}
"""name -> {version family ("1.0", "1.1", "1.2+", "1.5"): (type, code)}."""
for _name, (_tname, _by) in _CODES.items():
    _entry: dict[str, tuple[int, int]] = {}
    for _fam, _code in _by.items():
        _types = _T10 if _fam == "1.0" else _T11
        _entry[_fam] = (_types[_tname], _code)
    if "1.2+" in _entry and "1.5" not in _entry:
        _entry["1.5"] = _entry["1.2+"]
    ERRORS[_name] = _entry

KNOWN_NAMES = frozenset(ERRORS) | frozenset(NX_ERRORS)


def error_type_code(name: str, version: int) -> tuple[int, int] | None:
    """The standard ``(type, code)`` of error ``name`` in OpenFlow wire version ``version`` (1 = OpenFlow 1.0),
    or None when that version has no standard number for it (Open vSwitch then uses ``NX_ERRORS``)."""
    fam = "1.0" if version == 1 else "1.1" if version == 2 else "1.5" if version >= 6 else "1.2+"
    by = ERRORS.get(name)
    if by is None:
        return None
    return by.get(fam)
