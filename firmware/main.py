"""Board entry point: run the ccrdt node described by config.json.

When the node stops (Ctrl-C, or a config error it has printed) the board is
back at the REPL, as after any main.py."""
from ccrdt.node import main

main("config.json")
