"""A workload that declares its config fields (FIELDS), for the config tests."""
FIELDS = {"interval_ms": (1, 60000), "label": None}


class Workload:
    def __init__(self, node, cfg):
        self.node = node
        self.cfg = cfg
