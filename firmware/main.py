"""Board entry point: run the ccrdt node described by config.json."""
import sys

from ccrdt.node import main

sys.exit(main("config.json"))
