"""A wait for the MicroPython test scripts that run gateways (mqtt_gateways.py,
mqtt_bounded_gateway.py)."""
import asyncio
from time import ticks_diff, ticks_ms


async def until(cond, ms):
    """True once cond() holds, False after ms milliseconds without."""
    t0 = ticks_ms()
    while not cond():
        if ticks_diff(ticks_ms(), t0) > ms:
            return False
        await asyncio.sleep_ms(20)
    return True
