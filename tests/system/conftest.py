"""Fixtures of the system tests: network namespaces and a switch daemon on real ports (see netns.py).

* ``lab``: a :class:`netns.Lab` for one test; its namespaces, veth pairs and processes are gone afterwards.
* ``vswitch``: a switch started in the lab's switch namespace with a private run directory under /tmp (Unix
  socket paths must stay under 108 bytes).  It is pyvs-vswitchd; ``PYVS_SYSTEM_SWITCH=ovs`` runs the same
  tests against the real Open vSwitch (ovsdb-server + ovs-vswitchd on the userspace datapath) to check what
  the tests expect.  When a test fails, the switch's configuration, datapath flows and log tail are printed.
* ``netns_session``: at the start, deletes the namespaces of earlier runs that were killed before their
  clean-up; at the end of the session, deletes every namespace named with this process's prefix, whatever
  happened.

The directory is put on ``sys.path`` because the project runs pytest with ``--import-mode=importlib``.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import netns

SWITCH_KIND = os.environ.get("PYVS_SYSTEM_SWITCH", "pyvs")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, object]:
    """Keeps each phase's report on the test item, so that fixtures can tell whether the test failed."""
    rep = yield
    setattr(item, f"rep_{rep.when}", rep)
    return rep


@pytest.fixture(scope="session")
def netns_session() -> Iterator[None]:
    netns.delete_stale_namespaces()
    try:
        yield
    finally:
        netns.delete_namespaces(netns.PREFIX)


@pytest.fixture
def lab(netns_session: None, tmp_path: Path) -> Iterator[netns.Lab]:
    the_lab = netns.Lab(tmp_path)
    try:
        yield the_lab
    finally:
        the_lab.cleanup()


@pytest.fixture
def vswitch(lab: netns.Lab, request: pytest.FixtureRequest) -> Iterator[netns.Switch]:
    rundir = Path(tempfile.mkdtemp(prefix=f"{netns.PREFIX}-", dir="/tmp"))
    sw = netns.make_switch(SWITCH_KIND, rundir, lab.switch_ns)
    try:
        sw.start()
        yield sw
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            print(sw.diagnose())
    finally:
        sw.stop()
        shutil.rmtree(rundir, ignore_errors=True)
