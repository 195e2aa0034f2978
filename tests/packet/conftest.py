"""Makes ``packet_helpers`` importable by the tests of this directory.

The project runs pytest with ``--import-mode=importlib``, which does not put test directories on ``sys.path``;
the shared helpers of these tests live next to them, so this directory is added explicitly.
"""

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
