"""Errors of the action layer.  Each ``str()`` is the message ovs-ofctl prints (without its ``ovs-ofctl: `` prefix).
"""

from __future__ import annotations

__all__ = ["ActionCheckError", "ActionParseError"]


class ActionParseError(ValueError):
    """Action text that ovs-ofctl would refuse to parse."""


class ActionCheckError(ValueError):
    """Actions that parse but fail ovs-ofctl's consistency checks (``ofpacts_check``).

    ``code`` is the OpenFlow error name (``OFPBAC_MATCH_INCONSISTENT``, ``OFPBAC_BAD_OUT_PORT``...); ``str()`` is
    ``actions are invalid with specified match (CODE)``, as ovs-ofctl prints it."""

    def __init__(self, code: str) -> None:
        super().__init__(f"actions are invalid with specified match ({code})")
        self.code = code

