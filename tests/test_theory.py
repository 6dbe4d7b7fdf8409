"""Closed forms of queueing theory (playground/engine/theory.py) against known values and each other."""

from __future__ import annotations

import math

import pytest

from playground.engine import theory


def test_mm1_mean_time_in_system_is_one_over_mu_minus_lambda():
    r = theory.mm1(lam=8.0, mean_s=0.1)
    assert r.rho == pytest.approx(0.8)
    assert r.W == pytest.approx(1 / (10 - 8))
    assert r.Wq == pytest.approx(0.8 / (10 - 8))
    assert r.L == pytest.approx(0.8 / 0.2)


def test_erlang_c_matches_the_textbook_value_for_two_servers():
    # M/M/2 with a = 1: C = 1/3 (two servers half busy).
    assert theory.erlang_c(2, 1.0) == pytest.approx(1 / 3)


def test_mmc_with_one_server_is_mm1():
    one = theory.mmc(5.0, 0.1, 1)
    assert one.P_wait == pytest.approx(0.5)
    assert one.Wq == pytest.approx(theory.mm1(5.0, 0.1).Wq)


def test_mmc_wait_quantile_inverts_the_exponential_tail():
    lam, mean_s, c = 30.0, 0.1, 4
    r = theory.mmc(lam, mean_s, c)
    t = theory.mmc_wait_quantile(lam, mean_s, c, 0.99)
    assert r.P_wait * math.exp(-(c / mean_s - lam) * t) == pytest.approx(0.01)
    assert theory.mmc_wait_quantile(1.0, 0.1, 4, 0.5) == 0.0  # Almost nobody waits at light load.


def test_mmck_with_a_huge_room_approaches_mmc():
    big = theory.mmck(30.0, 0.1, 4, 400)
    assert big.P_block < 1e-12
    assert big.Wq == pytest.approx(theory.mmc(30.0, 0.1, 4).Wq, rel=1e-9)


def test_mmck_without_a_queue_blocks_with_erlang_b():
    r = theory.mmck(lam=20.0, mean_s=0.1, c=3, K=3)
    assert r.P_block == pytest.approx(theory.erlang_b(3, 2.0))
    assert r.Wq == 0.0
    assert r.throughput == pytest.approx(20.0 * (1 - r.P_block))


def test_mmck_stays_finite_when_overloaded():
    r = theory.mmck(lam=100.0, mean_s=0.1, c=2, K=12)
    assert 0.5 < r.P_block < 1
    assert r.rho <= 1


def test_md1_waits_half_as_long_as_mm1():
    assert theory.md1(8.0, 0.1).Wq == pytest.approx(theory.mm1(8.0, 0.1).Wq / 2)


def test_mg1_with_exponential_variability_is_mm1():
    assert theory.mg1(8.0, 0.1, 1.0).Wq == pytest.approx(theory.mm1(8.0, 0.1).Wq)


@pytest.mark.parametrize("call", [lambda: theory.mm1(10.0, 0.1), lambda: theory.mmc(50.0, 0.1, 4),
                                  lambda: theory.md1(0.0, 0.1), lambda: theory.mmck(1.0, 0.1, 3, 2)])
def test_unstable_or_meaningless_inputs_are_refused(call):
    with pytest.raises(ValueError):
        call()
