"""``python -m pyvswitch.db`` runs the server (see :mod:`pyvswitch.db.server_main`)."""

import sys

from .server_main import main

sys.exit(main())
