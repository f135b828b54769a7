"""`python -m bot.cli`: the `villagebot` command."""

import sys

from bot.cli import main

sys.exit(main())
