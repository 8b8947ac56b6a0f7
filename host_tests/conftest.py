import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "firmware"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tools"))
sys.path.insert(0, HERE)

import broker as brokers  # noqa: E402  (tools/, on the path above)
import hostenv  # noqa: E402

# CI lays an offline cache beside the checkout (../shared): its copy of
# micropython-lib is what the tests install umqtt.simple from, where no
# MPLIB is given (no user command looks there).
CI_MPLIB = os.path.join(os.path.dirname(hostenv.ROOT), "shared", "micropython-lib")
if not os.environ.get("MPLIB") and os.path.isdir(CI_MPLIB):
    os.environ["MPLIB"] = CI_MPLIB


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """Each test's host tools keep their files (a monitor's frames seen) in
    a cache of its own: tests reuse names and keys, a user's cache is not
    theirs, and one test's newest frames would be another's replays."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


@pytest.fixture(scope="module", params=brokers.KINDS)
def broker_kind(request):
    """Each MQTT broker a user may run: a test that uses this fixture (or
    `broker`) runs once per kind, the kind in its id (test_x[mosquitto]).
    A kind not installed here is a skip that says so, never a pass.
    Module-scoped, so a module's fixture that keeps one broker for several
    tests can take it too."""
    why = brokers.missing(request.param)
    if why:
        pytest.skip(why)
    return request.param


@pytest.fixture
def broker(broker_kind):
    """A started broker of each kind on a free loopback port, stopped and
    removed after the test.  A virtual fleet given it (Fleet(broker=...))
    stops it when its run ends."""
    with brokers.Broker(kind=broker_kind) as b:
        yield b


@pytest.fixture(scope="session")
def umqtt_lib(tmp_path_factory):
    """A lib directory holding umqtt.simple as mip puts it on a gateway,
    from MPLIB (../shared's copy in CI) or downloaded by mip; where neither
    works, a skip that says what is missing."""
    lib = str(tmp_path_factory.mktemp("lib"))
    try:
        hostenv.install_umqtt(lib)
    except hostenv.Missing as e:
        pytest.skip(str(e))
    return lib


@pytest.fixture(scope="session")
def frozen32():
    """The 32-bit MicroPython with the firmware frozen in (tools/frozen.py,
    built from ../shared/mp32 once per change of the firmware); a skip that
    says why where it cannot be built."""
    import frozen
    try:
        return frozen.build(log=lambda *a: None)
    except hostenv.Missing as e:
        pytest.skip(str(e))


@pytest.fixture
def umqtt_source():
    """umqtt/simple.py of MPLIB's copy of micropython-lib (../shared's in
    CI), for tests that play the package index; a skip without one."""
    d = hostenv.mplib_package("umqtt.simple")
    if d is None:
        pytest.skip("no copy of micropython-lib's umqtt.simple: MPLIB=path/to/micropython-lib")
    return os.path.join(d, "umqtt", "simple.py")
