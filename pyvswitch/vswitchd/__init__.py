"""``pyvs-vswitchd``, the switch daemon: see ``docs/vswitchd.md``.

Modules: ``main`` (command line, start-up, the asyncio loop, appctl commands), ``bridge`` (the reconciliation of the
database with bridges, ports and interfaces, in its own thread), ``unixctl`` (the control socket), ``vlogctl``
(``vlog/set`` and ``vlog/list``).
"""
