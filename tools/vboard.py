"""Virtual boards: MicroPython unix processes that mpremote talks to like USB boards.

    python tools/vboard.py 3                  # three boards under build/vboards/
    mpremote connect /dev/pts/N resume exec "import os; print(os.listdir())"

Each board is ``$MICROPYTHON -X heapsize=N`` (the venv's 64-bit unix port
unless MICROPYTHON=path names another, with the heap of its word size from
tools/hostenv.py) whose stdio is a pseudo-terminal; a second pseudo-
terminal, in raw mode, is the "USB port" mpremote opens, and a supervisor
copies bytes between the two.  The board's directory
is its flash filesystem (the process's working directory).  At boot it runs
main.py if there is one and then stays at the REPL, as a board does; Ctrl-C
from mpremote interrupts main.py; ``machine.reset()`` (mpremote's ``reset``)
ends the process and the supervisor boots it again behind the same device.
The ESP-NOW stand-in (host_tests/shim) is on its path, on the air hub given.
Pass ``resume`` to mpremote: the unix port has no soft reset.  Deploy with
BOARD=unix to a 64-bit board, BOARD=unix32 to a 32-bit one (their .mpy
files differ in the native code).
"""
import argparse
import fcntl
import os
import select
import subprocess
import termios
import threading
import time
import tty

import hostenv
from hostenv import ROOT


def _controlling_tty():
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class VBoard:
    def __init__(self, flash_dir, heap=None, mac=None, air=None, micropython=hostenv.MICROPYTHON):
        self.dir = os.path.abspath(flash_dir)
        os.makedirs(self.dir, exist_ok=True)
        self.micropython = micropython
        # the board's heap, plus what the stand-ins for the radio, network
        # and machine modules take: a board has those in its firmware
        self.heap = heap or hostenv.heap(micropython) + hostenv.shim_cost(micropython)
        # The flash's root, then its /lib as a board has it: an absolute path
        # that ends in /lib is where `mpremote mip install` puts packages.
        path = ["", os.path.join(self.dir, "lib"), ".frozen", hostenv.shim(micropython)]
        self.env = dict(os.environ, MICROPYPATH=":".join(path))
        if mac:
            self.env["CCRDT_MAC"] = mac
        if air:
            self.env["CCRDT_AIR"] = air
        self.boots = 0
        self.proc = None
        self.running = False
        self.console = open(self.dir + ".console.log", "ab")

    def start(self):
        self.usb_master, self.usb = os.openpty()  # mpremote's side
        tty.setraw(self.usb)
        self.device = os.ttyname(self.usb)
        self.running = True
        self._boot()
        self.thread = threading.Thread(target=self._pump, daemon=True)
        self.thread.start()
        return self.device

    def _boot(self):
        self.con_master, con = os.openpty()  # the interpreter's console
        attrs = termios.tcgetattr(con)
        attrs[1] &= ~termios.OPOST  # it writes \r\n itself
        termios.tcsetattr(con, termios.TCSANOW, attrs)
        args = hostenv.command(self.micropython, self.heap)
        if os.path.exists(os.path.join(self.dir, "main.py")):
            args += ["-i", "main.py"]
        self.proc = subprocess.Popen(args, stdin=con, stdout=con, stderr=con, cwd=self.dir,
                                     env=self.env, preexec_fn=_controlling_tty)
        os.close(con)
        self.boots += 1

    def _pump(self):
        while self.running:
            try:
                ready, _, _ = select.select([self.con_master, self.usb_master], [], [], 0.1)
            except (OSError, ValueError):
                break
            for fd in ready:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    data = b""
                if fd == self.con_master and data:
                    self.console.write(data)
                    self.console.flush()
                    os.write(self.usb_master, data)
                elif fd == self.usb_master and data:
                    os.write(self.con_master, data)
            if self.running and self.proc.poll() is not None:  # reset: boot again
                os.close(self.con_master)
                time.sleep(0.2)
                self._boot()

    def console_tail(self, n=600):
        """The last n characters the board printed, for a failure report."""
        with open(self.dir + ".console.log", "rb") as f:
            return f.read()[-n:].decode("utf-8", "replace")

    def stop(self):
        self.running = False
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.thread.join(2)
        for fd in (self.con_master, self.usb_master, self.usb):
            try:
                os.close(fd)
            except OSError:
                pass
        self.console.close()


def main(argv=None):
    ap = argparse.ArgumentParser(description="Start virtual boards for mpremote.")
    ap.add_argument("count", type=int, nargs="?", default=3)
    ap.add_argument("--root", default=os.path.join(ROOT, "build", "vboards"))
    ap.add_argument("--air", default=None,
                    help="host:port of an ESP-NOW air hub (tools/netsim.py air)")
    a = ap.parse_args(argv)
    boards = []
    print("virtual boards on %s, heap %d bytes each + %d for the host stand-ins of espnow, "
          "network and machine" % (hostenv.describe(), hostenv.heap(), hostenv.shim_cost()),
          flush=True)
    for i in range(a.count):
        b = VBoard(os.path.join(a.root, "vb%d" % (i + 1)), mac="0200000001%02x" % (i + 1),
                   air=a.air)
        boards.append(b)
        print("vb%d %s  flash: %s" % (i + 1, b.start(), os.path.relpath(b.dir)), flush=True)
    print("Ctrl-C stops them.", flush=True)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        for b in boards:
            b.stop()


if __name__ == "__main__":
    main()
