"""Example workload: threshold constraints checked on a simulated sensor.

Each board owns two constraints on its temperature reading ("<name>:hot",
"<name>:cold"); every ``interval_ms`` it reads the sensor (a random walk
seeded by the board's name, so runs repeat) and records, for each of its
active constraints, one satisfied check or one violation.  Every
``toggle_every`` steps it removes or re-adds its "<name>:cold" constraint,
so the fleet sees the set change too.  It starts after ``start_ms`` and
stops after ``run_ms`` or ``steps`` steps (0: never), and the fleet can
settle.

Config: {"module": "ccrdt.workload", "interval_ms": 200, "start_ms": 0,
         "run_ms": 0, "steps": 0, "toggle_every": 25, "hot_c": 30, "cold_c": 10}
"""
from ccrdt.fnv import tag30

LOG_RECORDED = "workload recorded sat=%d vio=%d"  # read by tools/fleet.py


class Workload:
    def __init__(self, node, cfg):
        self.node = node
        self.interval = cfg.get("interval_ms", 200)
        self.start_ms = cfg.get("start_ms", 0)
        self.run_ms = cfg.get("run_ms", 0)
        self.max_steps = cfg.get("steps", 0)
        self.toggle_every = cfg.get("toggle_every", 25)
        self.hot = cfg.get("hot_c", 30)
        self.cold = cfg.get("cold_c", 10)
        self.names = (node.name + ":hot", node.name + ":cold")
        self.x = tag30(node.name) | 1  # xorshift state
        self.temp = 20
        self.steps = self.sat = self.vio = 0
        self.running = True

    def _rand(self, n):
        x = self.x
        x ^= (x << 13) & 0x3FFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0x3FFFFFFF
        self.x = x
        return x % n

    def read_sensor(self):
        self.temp += self._rand(5) - 2
        self.temp = max(-10, min(45, self.temp))
        return self.temp

    def step(self):
        node = self.node
        if self.steps == 0:
            for cid in self.names:
                if not node.state.constraints.contains(cid):
                    node.add_constraint(cid)
        self.steps += 1
        t = self.read_sensor()
        active = node.state.constraints
        ok = bad = 0
        if active.contains(self.names[0]):
            if t < self.hot:
                ok += 1
            else:
                bad += 1
        if active.contains(self.names[1]):
            if t > self.cold:
                ok += 1
            else:
                bad += 1
        # Each count is added here only once the node took it (a refused
        # call raises), so what the workload says it recorded is exact.
        node.record_satisfied(ok)
        self.sat += ok
        node.record_violations(bad)
        self.vio += bad
        if self.toggle_every and self.steps % self.toggle_every == 0:
            if active.contains(self.names[1]):
                node.remove_constraint(self.names[1])
            else:
                node.add_constraint(self.names[1])

    async def run(self):
        from ccrdt.node import sleep_ms
        await sleep_ms(self.start_ms)
        t0 = self.node.uptime.ms()  # the node's clock: it does not wrap
        while (self.node.running and not (self.run_ms and self.node.uptime.ms() - t0 > self.run_ms)
               and not (self.max_steps and self.steps >= self.max_steps)):
            try:
                self.step()
            except Exception as e:  # e.g. the node refused an operation: try next step
                self.node.error("workload", e)
            await sleep_ms(self.interval)
        self.running = False
        self.node.log((LOG_RECORDED + " in %d steps") % (self.sat, self.vio, self.steps))
