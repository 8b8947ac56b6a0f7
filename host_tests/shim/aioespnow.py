"""Host stand-in for MicroPython's aioespnow: ESPNow with asyncio methods."""
import asyncio
import sys

import espnow


class AIOESPNow(espnow.ESPNow):
    async def airecv(self):
        while True:
            await _readable(self._sock)
            got = self._take()
            if got is not None:
                return got

    async def arecv(self):
        mac, msg = await self.airecv()
        return mac, bytes(msg)

    async def asend(self, mac, msg=None, sync=True):
        return self.send(mac, msg, sync)


if sys.implementation.name == "micropython":
    def _readable(sock):
        yield asyncio.core._io_queue.queue_read(sock)
else:
    async def _readable(sock):
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        loop.add_reader(sock.fileno(), lambda: fut.done() or fut.set_result(None))
        try:
            await fut
        finally:
            loop.remove_reader(sock.fileno())


def ESPNow():
    return AIOESPNow()
