"""OVSDB: schemas, a transactional store with a durable log, and the RFC 7047 JSON-RPC server and client.

The layers, bottom up (each imports only those above it in this list):

* :mod:`.error`, :mod:`.types`, :mod:`.data`, :mod:`.schema`: error objects, column types, values ("datums"),
  schemas;
* :mod:`.condition`, :mod:`.mutation`: ``where`` clauses and mutators;
* :mod:`.database`, :mod:`.transaction`: rows and tables, and the execution of ``transact`` requests with the
  commit-time integrity checks;
* :mod:`.storage`: the on-disk log (the ovsdb(5) standalone format), recovery and compaction;
* :mod:`.jsonrpc`, :mod:`.monitor`, :mod:`.server_db`, :mod:`.server`: the network server;
* :mod:`.client`: a synchronous client and replica for the rest of pyvswitch;
* :mod:`.server_main`, :mod:`.tool`: the ``pyvs-ovsdb-server`` and ``pyvs-ovsdb-tool`` programs.

docs/ovsdb.md describes the design and what was checked against Open vSwitch's ovsdb-server and clients.
"""
