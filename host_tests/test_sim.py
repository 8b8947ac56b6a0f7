"""Convergence of real GossipNodes over the simulated network (CPython)."""


import sim


def all_equal_and_complete(peers, n):
    return sim.converged(peers) and peers[0].state.active_constraint_count() == n


def test_converges_without_loss_in_few_rounds():
    for seed in range(3):
        peers = sim.make_fleet("ccrdt", 16)
        rounds, frames, nbytes = sim.run(peers, seed)
        assert rounds is not None and rounds <= 8
        assert all_equal_and_complete(peers, 16)
        assert peers[0].state.metrics.total_satisfied() == 16


def test_converges_under_loss_duplication_reordering_and_delay():
    peers = sim.make_fleet("ccrdt", 24)
    rounds, _, _ = sim.run(peers, 5, loss=0.3, dup=0.2, reorder=True, delay=0.1)
    assert rounds is not None and all_equal_and_complete(peers, 24)


def test_partition_then_heal():
    peers = sim.make_fleet("ccrdt", 16)
    # While cut in two, neither half can learn the other's constraints.
    rounds, _, _ = sim.run(peers, 2, partition=(1, 10), max_rounds=9)
    assert rounds is None
    assert 0 < peers[0].state.active_constraint_count() < 16
    rounds, _, _ = sim.run(peers, 2)
    assert rounds is not None and all_equal_and_complete(peers, 16)


def test_restart_from_snapshot():
    peers = sim.make_fleet("ccrdt", 16)
    rounds, _, _ = sim.run(peers, 4, loss=0.1, restart=3)
    assert rounds is not None and all_equal_and_complete(peers, 16)


def test_sixty_four_nodes_with_loss():
    peers = sim.make_fleet("ccrdt", 64)
    rounds, frames, _ = sim.run(peers, 1, loss=0.3)
    assert rounds is not None and all_equal_and_complete(peers, 64)
    assert sum(p.node.rejected() for p in peers) == 0


def test_seed_baseline_converges_and_moves_more_bytes():
    ours = sim.run(sim.make_fleet("ccrdt", 16), 3)
    seed = sim.run(sim.make_fleet("seed", 16), 3)
    assert ours[0] is not None and seed[0] is not None
    assert seed[2] > 2 * ours[2]


def test_command_line_prints_a_table():
    import contextlib
    import io
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = sim.main(["--nodes", "4", "--loss", "0.1", "--seeds", "2"])
    text = out.getvalue()
    assert status == 0
    assert "| 4 | 0.1 | ccrdt | 2/2 |" in text and "| 4 | 0.1 | seed | 2/2 |" in text


def test_broadcast_converges_under_loss():
    peers = sim.make_fleet("ccrdt", 32)
    rounds, _, _ = sim.run(peers, 7, loss=0.3, broadcast=True)
    assert rounds is not None and all_equal_and_complete(peers, 32)
