"""Session-wide checks.

Many tests compare pyvswitch with the real Open vSwitch tools, which ``make test`` installs (Debian's
openvswitch-common and openvswitch-switch).  If one is missing, the run stops at once with a message naming it,
rather than those tests being skipped and the suite reading green.
"""

from __future__ import annotations

import shutil

import pytest

REQUIRED_TOOLS = ("ovs-ofctl", "ovs-vsctl", "ovs-appctl", "ovs-vswitchd", "ovsdb-server", "ovsdb-tool",
                  "ovsdb-client")


def pytest_sessionstart(session: pytest.Session) -> None:
    missing = [t for t in REQUIRED_TOOLS if shutil.which(t) is None]
    if missing:
        raise pytest.UsageError(
            f"the tests need Open vSwitch's {', '.join(missing)}: run them with `make test`, which installs them")
