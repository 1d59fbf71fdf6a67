import sys

from smk8s.cli import main

sys.exit(main())
