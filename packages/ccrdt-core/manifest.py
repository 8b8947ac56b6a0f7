metadata(version="0.2.0", license="MIT", description="ccrdt's replicated state: the add-wins constraint set, "
         "counters and position register, cut into slices; snapshots and the authenticated frame format.")

package("ccrdt", files=("__init__.py", "compat.py", "layout.py", "raw.py", "fnv.py", "nodes.py", "awset.py",
                        "counters.py", "register.py", "state.py", "delta.py", "vclock.py", "proto.py", "wire.py",
                        "store.py", "restore.py"), base_path="../../firmware")
