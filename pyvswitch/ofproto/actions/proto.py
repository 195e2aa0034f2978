"""Actions and OpenFlow protocol versions: which protocol variants can carry an action list.

ovs-ofctl computes the set of protocol variants able to express a flow (its "usable protocols") before it encodes
anything, and each action narrows it: ``meter`` and ``encap`` need OpenFlow 1.3, ``push_vlan`` 1.1, a ``set_field``
a protocol that can match its field.  What an encode/decode cycle in the chosen protocol then does to the actions
(ovs-actions(7) "Inter-Version Compatibility") is the OpenFlow codec's business (``pyvswitch.openflow``).
"""

from __future__ import annotations

from pyvswitch.flow.fields import Field, Support
from pyvswitch.flow.protocols import Proto
from pyvswitch.ofproto.actions.model import (
    Action,
    Clone,
    Ct,
    Encap,
    Meter,
    PushVlan,
    SetField,
    WriteActions,
    WriteMetadata,
)

__all__ = ["actions_usable_protocols", "field_usable_protocols"]

OF13_UP = Proto.OF13_OXM | Proto.OF14_OXM | Proto.OF15_OXM
NXM_OF11_UP = Proto.OF10_NXM_ANY | Proto.OF11_UP


def field_usable_protocols(f: Field) -> Proto:
    """The protocols that can match (and so set) field ``f`` exactly: NXM and OXM always, the OpenFlow 1.0 and
    1.1 fixed matches when they have the field."""
    p = Proto.NXM_OXM_ANY
    if f.of10 is not Support.NO:
        p |= Proto.OF10_STD_ANY
    if f.of11 is not Support.NO:
        p |= Proto.OF11_STD
    return p


def actions_usable_protocols(actions: list[Action] | tuple[Action, ...]) -> Proto:
    """The protocol variants able to carry ``actions`` on their own (before any consistency with a match):
    ``meter`` and ``encap`` need OpenFlow 1.3+, ``push_vlan`` 1.1+, ``write_metadata`` anything but the OpenFlow
    1.0 fixed match, ``set_field`` what can match its field; everything else has an encoding everywhere."""
    return _usable(actions, Proto.ANY)


def _usable(actions: list[Action] | tuple[Action, ...], p: Proto) -> Proto:
    # ovs-ofctl accumulates these restrictions in one variable as it parses, and the parser of ``clone`` starts
    # its nested list by resetting that variable: whatever the actions before a clone (at any depth) required is
    # forgotten.  ``ct(exec(...))`` parses into a separate variable and folds it back.  That is reproduced so
    # that the protocol choice, and so the printed flow, agree with ovs-ofctl's.
    for a in actions:
        if isinstance(a, (Meter, Encap)):
            p &= OF13_UP
        elif isinstance(a, PushVlan):
            p &= Proto.OF11_UP
        elif isinstance(a, WriteMetadata):
            p &= NXM_OF11_UP
        elif isinstance(a, SetField) and not a.load:
            p &= field_usable_protocols(a.field)
        elif isinstance(a, Clone):
            p = _usable(a.actions, Proto.ANY)
        elif isinstance(a, WriteActions):
            p = _usable(a.actions, p)
        elif isinstance(a, Ct):
            p &= _usable(a.actions, Proto.ANY)
    return p
