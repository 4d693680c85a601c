"""`python -m p2p_energy`, the same as the `p2p-energy` console script."""

import sys

from p2p_energy.cli.app import main

sys.exit(main())
