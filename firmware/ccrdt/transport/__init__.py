"""Transports move frames; they know nothing of their content.

Every transport (udp, espnow, mqtt, and the host tests' in-memory one)
offers the node the same edge:

    kind                   its name in the config ("udp", ...)
    broadcasts             True if broadcast() reaches every node of its medium
    await recv_into(buf)   wait for one frame, copy what fits into buf and
                           return its real length (longer than buf: oversized)
    sender(into)           the last frame's source, as send() takes it; a
                           transport whose driver reuses its buffer copies
                           it into `into` (a receive slot's bytearray(6))
    send(addr, buf, n)     buf[:n] to one node; False if it did not leave
    broadcast(buf, n)      buf[:n] to every node of the medium
    status(buf, n)         a STATUS frame to this transport's monitor, if any
    peer_count(), send_to_peer(i, buf, n)
                           the peers anti-entropy picks from
    heard(addr)            the frame from addr was authentic: a peer
    sent, send_errors      counts for the operator
    close()

and optionally ``async run()``, a task that keeps a connection up.  None of
them raises from send(): a frame that cannot leave is counted, and
anti-entropy repairs what it would have carried.
"""
