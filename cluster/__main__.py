import sys

from cluster.control import main

sys.exit(main())
