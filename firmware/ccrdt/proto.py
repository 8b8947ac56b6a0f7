"""The protocol's numbers, in one table: part of the wire format.

Append only.  A number, once shipped, keeps its meaning; a new frame type,
flag or refusal reason takes the next free value, and a frame whose layout
changes takes a new WIRE_VERSION.  Layouts are in ``ccrdt.wire`` (envelope),
``ccrdt.gossip`` (PING, DELTA, ACK) and ``ccrdt.status`` (STATUS).
"""
from micropython import const

# ---- the envelope (ccrdt.wire) ------------------------------------------
FRAME_MAX = const(250)  # one ESP-NOW payload; UDP and MQTT carry the same frames
HEADER = const(18)  # magic, version|type, fleet, sender tag, epoch, sequence, receiver
MAC_LEN = const(8)  # truncated AES-CMAC at the end
PAYLOAD_END = const(FRAME_MAX - MAC_LEN)  # where a full frame's payload must end
MAGIC = const(0xCC)
# 2: PINGs carry the sender's incarnation and boot id; 3: the header carries
# the sender's epoch and a 30-bit sequence (replays are refused); 4: the
# header names the receiver, and a PING's echo names the receiver's epoch
WIRE_VERSION = const(4)
SEQ_LIMIT = const(1 << 30)  # a sequence stays below: a small int on every port

# ---- frame types (low nibble of byte 1) -----------------------------------
PING = const(1)
DELTA = const(2)
ACK = const(3)
STATUS = const(4)

# ---- PING flags -------------------------------------------------------------
DIGEST = const(1)  # the 32 slice hashes follow
PUSH = const(2)  # delta entries of recently changed slices follow
BCAST = const(4)  # sent to a whole medium: nobody answers

# ---- delta entries (in DELTA frames and pushed PINGs) -----------------------
LAST = const(1)  # the slice's last part
REPLY = const(2)  # an answer: the receiver sends back what it has and this lacks
ENTRY = const(6)  # entry header: flags, u32 sender's slice hash, part length
PART_MIN = const(5)  # the smallest part: an empty slice
ENTRIES_MAX = const((PAYLOAD_END - HEADER) // (ENTRY + PART_MIN))  # no frame holds more

# ---- why a frame was refused (counted per reason; 0: accepted) --------------
OK = const(0)
BAD_SIZE = const(1)
BAD_MAGIC = const(2)
BAD_VERSION = const(3)
OTHER_FLEET = const(4)
BAD_MAC = const(5)
MALFORMED = const(6)
NO_ROOM = const(7)  # a part needs room the node or constraint table lacks
UNKNOWN_KIND = const(8)
BAD_NAME = const(9)  # a PING whose name and incarnation do not hash to its sender
REPLAYED = const(10)  # seen before, or older than what its sender has shown
NOT_FOR_ME = const(11)  # sent to another board (recorded on its way there)
REASONS = const(12)  # one more than the highest reason

# ---- STATUS ------------------------------------------------------------------
STATUS_VERSION = const(4)  # 3: skipped, withheld, epoch; 4: repeated
RUNNING = const(1)  # STATUS flag: the workload runs
PENDING = const(2)  # STATUS flag: local changes not yet committed
