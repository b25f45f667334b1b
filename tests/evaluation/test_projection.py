"""The 1:N projection: its tail fit, the exact household chance, and the projection against direct
measurement in the largest gallery a real run of lfw-mini holds."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evalharness.evaluation import projection
from evalharness.evaluation.probes import Probes

EXPERIMENT = """\
name = "projection-test"
dataset = "{dataset}"
seed = 3
samples_per_condition = 0
bootstrap_resamples = 10
source_eyes = "lfw-deepfunneled"

[protocol]
nonmated_identities = 0
gallery_size = 280

[[grid]]
profiles = ["ir-two-lane"]
"""


def test_pareto_tail_fit_recovers_a_known_tail():
    rng = np.random.default_rng(0)
    body = rng.normal(0.0, 0.1, 200_000)
    model = projection.fit_impostors(body)
    # Beyond the fitted threshold the model follows the sample's own exceedances...
    for x in (0.25, 0.3, 0.35):
        assert model.exceedance([x])[0] == pytest.approx(np.mean(body >= x), rel=0.25)
    # ... and the normal's far tail, which the sample barely reaches, within a factor of 3.
    assert model.exceedance([0.45])[0] == pytest.approx(stats.norm.sf(0.45, scale=0.1), rel=2.0)
    assert model.shape < 0.1  # a light tail (normal: shape 0 in the limit)
    # quantile_above inverts exceedance.
    for mass in (1e-3, 1e-6, 1e-9):
        assert model.exceedance([model.quantile_above(mass)])[0] == pytest.approx(mass, rel=1e-6)


def test_search_threshold_gives_the_fpir_of_a_search_of_n():
    """Scores 0.000-0.999, empirical: a search of one identity exceeds 0.989 with probability 10/1000
    = 0.01; a search of 10 needs P(X > T) = 1 - 0.99^(1/10) = 0.0010045 per identity, met at 0.998
    (1/1000), so that 1 - (1 - 0.001)^10 = 0.00996 <= 0.01 of its searches return a candidate."""
    model = projection.fit_impostors(np.arange(1000) / 1000, tail_fraction=0.0)
    assert model.search_threshold(fpir=0.01, gallery_size=1) == pytest.approx(0.989)
    assert model.search_threshold(fpir=0.01, gallery_size=10) == pytest.approx(0.998)


def test_tail_fraction_sets_the_scores_the_tail_is_fitted_to():
    """Excesses of a generalised Pareto sample over any threshold are generalised Pareto of the
    same shape, so every fraction recovers it (the larger, from more excesses, within a tighter
    bound here). A condition's probes pass their fraction to the fit; 0 fits no tail
    (benchmarks/projection_check.py)."""
    scores = stats.genpareto.rvs(c=-0.2, scale=0.05, size=200_000, random_state=np.random.default_rng(0))
    default = projection.fit_impostors(scores)
    wide = projection.fit_impostors(scores, tail_fraction=0.2)
    assert default.tail_mass == pytest.approx(projection.TAIL_FRACTION)
    assert wide.tail_mass == pytest.approx(0.2)
    assert wide.shape == pytest.approx(-0.2, abs=0.02)
    assert default.shape == pytest.approx(-0.2, abs=0.1)
    rows = pd.DataFrame({"probe_kind": ["mated", "nonmated"], "detected": [True, True],
                         "mate_rank": pd.array([1, None], dtype="Int64"), "mate_score": [0.9, np.nan],
                         "best_nonmate_score": [scores[:1000].max(), scores[1000:].max()],
                         "nonmate_scores": [scores[:1000], scores[1000:3000]]})
    for fraction in (projection.TAIL_FRACTION, 0.2):
        model = Probes(rows, tail_fraction=fraction).impostor_model(np.arange(2))
        assert model.tail_mass == pytest.approx(fraction)
    assert math.isnan(projection.fit_impostors(scores, tail_fraction=0.0).scale)  # empirical throughout
    for wrong in (1.0, -0.1, math.nan):
        with pytest.raises(ValueError, match="tail_fraction"):
            projection.fit_impostors(scores, tail_fraction=wrong)


def test_below_the_tail_the_empirical_distribution_counts_ties_against_the_mate():
    model = projection.fit_impostors([0.1, 0.2, 0.2, 0.3])  # too few for a tail
    assert math.isnan(model.scale)
    assert model.exceedance([0.2, 0.25, 0.31]).tolist() == [0.75, 0.25, 0.0]


def test_household_chance_is_the_hypergeometric_count():
    others = [np.array([0.9, 0.8, 0.1, 0.2, 0.3, 0.4])]  # 2 of 6 beat a mate of 0.5
    chance = projection.household_chances([0.5], [True], others, household_size=3)
    assert chance[0] == pytest.approx(math.comb(4, 2) / math.comb(6, 2))
    assert projection.household_chances([0.5], [True], others, household_size=20)[0] == 0.0  # whole gallery
    assert projection.household_chances([0.95], [True], others, household_size=20)[0] == 1.0
    assert projection.household_chances([0.95], [False], others, household_size=3)[0] == 0.0


def test_database_of_one_is_detection():
    model = projection.fit_impostors(np.linspace(-0.2, 0.4, 5000))
    assert projection.database_hit_rate([0.1, 0.9, 0.3], [True, True, False], model,
                                        gallery_size=1, fpir=None) == pytest.approx(2 / 3)


@pytest.mark.slow
def test_projection_from_a_small_gallery_matches_direct_measurement_in_a_large_one(run_experiment):
    """From each probe's scores against 40 identities, project rank 1 in the run's 280; compare
    with the direct (exact) rate there. The gap is the projection's error on real scores."""
    run = run_experiment("projection-test", EXPERIMENT, 10_000)
    rows = pd.read_parquet(next((run / "conditions").glob("*.parquet")))
    rows = rows[rows["probe_kind"] == "mated"]
    detected = rows["detected"].to_numpy(bool)
    mate = rows["mate_score"].to_numpy(np.float64)
    scores = [np.asarray(s, np.float64) for s in rows["nonmate_scores"]]
    gallery = 1 + max(s.size for s in scores)
    assert gallery == 280 and len(rows) > 100
    rng = np.random.default_rng(1)
    seen = [s[rng.choice(s.size, 39, replace=False)] if s.size > 39 else s for s in scores]
    model = projection.fit_impostors(np.concatenate(seen))
    for size in (40, gallery):
        direct = projection.household_chances(mate, detected, scores, household_size=size).mean()
        projected = projection.database_hit_rate(mate, detected, model, gallery_size=size, fpir=None)
        assert projected == pytest.approx(direct, abs=0.08), size


def test_weighted_fit_equals_the_fit_of_the_repeated_scores():
    """A bootstrap resample's copies weigh the scores (no repeated array): the model, its
    exceedances and quantiles equal, bit for bit, those of the scores repeated (issue 17)."""
    rng = np.random.default_rng(4)
    scores = np.round(rng.normal(0.0, 0.1, 6000), 4)  # rounded: ties, as cosines of one gallery give
    copies = rng.integers(0, 3, scores.size)  # a resample: some probes drawn twice, some never
    descending = np.argsort(-scores, kind="stable")
    weighted = projection.fit_impostors(scores[descending], copies=copies[descending], presorted=True)
    repeated = projection.fit_impostors(np.repeat(scores, copies))
    assert weighted.size == repeated.size == copies.sum()
    assert (weighted.threshold, weighted.tail_mass, weighted.shape, weighted.scale) == \
        (repeated.threshold, repeated.tail_mass, repeated.shape, repeated.scale)
    assert not math.isnan(weighted.scale)
    probe_scores = np.r_[scores[:500], -1.0, 1.0]
    assert np.array_equal(weighted.exceedance(probe_scores), repeated.exceedance(probe_scores))
    for mass in (0.5, 0.05, 1e-3, 1e-7):
        assert weighted.quantile_above(mass) == repeated.quantile_above(mass)
