"""Camera calibration from frames: the measures on images with known properties, then
``evalharness calibrate`` recovering the settings of frames made by the harness's own camera
model, and on the real FRMDB CCTV frames."""

from __future__ import annotations

import io
import json
import math
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import gaussian_filter

from evalharness.camera import calibration, measure
from evalharness.camera.calibration import _match_core, _sharper_than_rendered
from evalharness.camera.charts import chart_frames, flat_field_blocks, flat_fields, measure_chart, walking_scenes
from evalharness.camera.frame_measures import (MIN_STATIC_EDGES, WINDOW_AGREEMENT_RATIO, ContrastClass, Sharpness,
                                               measure_frame, measure_image, measure_stored, summarise)
from evalharness.cli import main
from evalharness.config.profile import load_profile, resolve_profile
from evalharness.paths import PROFILES_DIR

# scripts/, on pytest's pythonpath (pyproject.toml)
import edge_sharpness

FRMDB_FRAMES = Path(os.environ.get("EVALHARNESS_SHARED", Path(__file__).resolve().parents[2].parent / "shared")) \
    / "data" / "frmdb-dev" / "frames"

#: A 352x288 colour CCTV camera with known settings, on legacy-interlaced (pitch as calibrate
#: assumes for that base, so that aberration_blur_um compares directly).
KNOWN = {"sensor_width_px": 352, "sensor_height_px": 288, "spectral_mode": "colour", "interlaced": False,
         "jpeg_quality": 70, "aberration_blur_um": 20.0, "gain_dn_per_e": 0.5, "read_noise_e": 5.0,
         "pixel_pitch_um": calibration.stored_pixel_pitch_um(load_profile("legacy-interlaced"), 352)}


@pytest.mark.parametrize("quality", [20, 55, 75, 95])
def test_jpeg_quality_is_read_from_the_tables(quality):
    buffer = io.BytesIO()
    Image.fromarray(np.full((32, 32), 128, np.uint8)).save(buffer, format="JPEG", quality=quality)
    with Image.open(buffer) as image:
        assert measure.jpeg_quality(image.quantization[0]) == (quality, 0.0)


def test_edge_mtf50_of_a_gaussian_blurred_slanted_edge():
    sigma_px = 1.5
    rows, cols = np.indices((96, 96), dtype=np.float64)
    supersample = 8
    fine_rows, fine_cols = np.indices((96 * supersample, 96 * supersample)) / supersample
    fine = (fine_cols - 48 - 0.09 * (fine_rows - 48) > 0).astype(np.float64)
    edge = fine.reshape(96, supersample, 96, supersample).mean(axis=(1, 3))
    image = 60.0 + 120.0 * gaussian_filter(edge, sigma_px)
    found = measure.edge_windows(image)
    expected = math.sqrt(math.log(2.0) / (2.0 * math.pi**2)) / sigma_px  # Gaussian MTF = 0.5
    assert len(found) >= 4
    assert np.median([w.mtf50_cyc_per_px for w in found]) == pytest.approx(expected, rel=0.1)
    assert measure.pooled_mtf50(found) == pytest.approx(expected, rel=0.1)


@pytest.mark.parametrize("sigma_px", [0.7, 1.5])
def test_a_sharp_edge_in_noise_is_found_and_measured_as_a_soft_one_is(sigma_px):
    # A 50 DN step under 2 DN of noise, as on the FRMDB CCTV frames. Counting every noise
    # difference against the edge, or letting the flat sides' noise pull the row centroids,
    # found no window at either sharpness; noise must not decide which edges count.
    rng = np.random.default_rng(5)
    supersample = 8
    fine_rows, fine_cols = np.indices((96 * supersample, 96 * supersample)) / supersample
    fine = (fine_cols - 48 - 0.09 * (fine_rows - 48) > 0).astype(np.float64)
    edge = fine.reshape(96, supersample, 96, supersample).mean(axis=(1, 3))
    found = []
    for _ in range(4):
        image = 60.0 + 50.0 * gaussian_filter(edge, sigma_px) + rng.normal(0.0, 2.0, edge.shape)
        found += measure.edge_windows(image)
    expected = math.sqrt(math.log(2.0) / (2.0 * math.pi**2)) / sigma_px
    assert len(found) >= 20
    assert measure.pooled_mtf50(found) == pytest.approx(expected, rel=0.1)


def _slanted_step(sigma_px: float) -> np.ndarray:
    """A 96x96 px image of a step slanted by 0.09 px per row (0 to 1), averaged over each pixel,
    then blurred by a Gaussian of ``sigma_px``."""
    supersample = 8
    fine_rows, fine_cols = np.indices((96 * supersample, 96 * supersample)) / supersample
    fine = (fine_cols - 48 - 0.09 * (fine_rows - 48) > 0).astype(np.float64)
    return gaussian_filter(fine.reshape(96, supersample, 96, supersample).mean(axis=(1, 3)), sigma_px)


def test_an_edge_halo_is_measured_in_proportion_to_a_sharpened_step_and_beside_it():
    """A blurred 80 DN step has no halo; sharpened by an unsharp mask (the image plus 0.5 times
    itself minus its blur by 1.5 px), it overshoots and undershoots its sides alike, by about what
    the sharpened profile shows (more than its pixels' own 3.6%: the spread function is sampled
    at a quarter pixel), and beside the edge: under 2 px from it, within the mask's reach. A stronger
    mask (8% at the pixels) is refused by the edge finder as ringing, so a halo measured on found
    windows is bounded by that refusal."""
    edge = _slanted_step(0.8)

    def sharpened(amount: float) -> np.ndarray:
        return 60.0 + 80.0 * (edge + amount * (edge - gaussian_filter(edge, 1.5)))

    pixel_overshoot_dn = sharpened(0.5)[48, :].max() - 140.0
    assert pixel_overshoot_dn == pytest.approx(80.0 * 0.036, abs=0.1)
    for image, low, high in ((sharpened(0.0), 0.0, 0.3), (sharpened(0.5), pixel_overshoot_dn, 2 * pixel_overshoot_dn)):
        found = measure.edge_windows(image, window_px=(16, 16), step_px=4)
        assert found
        shapes = [measure.edge_shape(image, window) for window in found]
        over, under = np.median([(s.overshoot_dn, s.undershoot_dn) for s in shapes], axis=0)
        assert low <= over <= high and low <= under <= high and abs(over - under) < 0.3 * high
        assert np.median([s.step_dn for s in shapes]) == pytest.approx(80.0, rel=0.02)
    assert all(1.0 <= s.overshoot_px <= 2.5 and 1.0 <= s.undershoot_px <= 2.5 for s in shapes)
    assert measure.edge_windows(sharpened(0.8), window_px=(16, 16), step_px=4) == []


def _classes_sharpness(*rises: float) -> Sharpness:
    """A measured :class:`Sharpness` whose narrow contrast classes rise (25-75%) by ``rises``."""
    classes = tuple(ContrastClass(20.0 * k, 20.0 * (k + 1), 12, 0.2, rise_px=(rise, 2 * rise))
                    for k, rise in enumerate(rises))
    return Sharpness(0.2, (0.2, 0.2, 0.2), 12, 30, narrow_contrast_classes=classes)


def test_edges_sharper_than_the_profile_renders_are_remarked_with_the_mosaic_hint_only_for_a_mosaic():
    """``calibrate``'s edge-core remark: frames whose fastest class rises more than 15% faster
    than the chart renders any step; a colour mosaic profile is pointed to full sampling, a
    monochrome one is not; within 15% nothing is remarked."""
    real, chart = _classes_sharpness(3.0, 0.47), _classes_sharpness(0.85, 0.89)
    remark = _sharper_than_rendered(real, chart, load_profile("legacy-interlaced", {"spectral_mode": "colour"}))
    assert remark and "20-40 DN edges rise (25-75%) in 0.47 px" in remark and "(0.85-0.89 px)" in remark
    assert 'colour_sampling = "full"' in remark
    remark = _sharper_than_rendered(real, chart, load_profile("legacy-interlaced"))  # infrared: no mosaic
    assert remark and "colour_sampling" not in remark
    assert _sharper_than_rendered(_classes_sharpness(3.0, 0.75), chart, load_profile("legacy-interlaced")) is None


def test_no_core_to_match_without_a_measured_contrast_class():
    assert _match_core(load_profile("legacy-interlaced"), _classes_sharpness(math.nan, math.nan), seed=0) is None


def test_a_chart_without_edges_of_the_fastest_class_keeps_the_base_lens_and_names_the_check(monkeypatch):
    """Where the chart shows no edge of the frames' fastest class behind any lens (a noise or a
    codec that hides them), the base's lens is kept with that reason, under the class's check, so
    that the final check's absence is warned about (not the reason of frames without edges)."""
    base = load_profile("legacy-interlaced")
    no_edges = SimpleNamespace(sharpness=_classes_sharpness(math.nan, math.nan))
    monkeypatch.setattr(calibration, "measure_chart", lambda profile, seed=0: no_edges)
    match = _match_core(base, _classes_sharpness(3.0, 0.47), seed=0)
    assert match.values == {"aberration_blur_um": base.aberration_blur_um}
    assert "the chart shows no edges of that contrast" in match.comments["aberration_blur_um"]
    assert match.check == "rise_25_75_contrast_20_40_dn_px"
    assert "shows none of the edges" in calibration._sharpness_miss(None, match.check)


@pytest.mark.slow
@pytest.mark.parametrize(("sampling", "blur_um"), [("full", 6.0), ("mosaic", 20.0)])
def test_the_fastest_edges_core_sets_colour_sampling_and_lens(sampling, blur_um):
    """The stated proxy where natural edges do not measure one lens: frames of the model's own
    chart, through a camera with known colour sampling and lens, are matched from a mosaic base
    with another lens. Edges faster than a mosaic renders any step switch it to full sampling
    (6 um: a 0.32 px sigma); slower ones keep the mosaic (20 um: 1.07 px). The lens comes back
    within 10% (5.96 and 19.5 um, session 20) and the matched chart rises as the frames do within
    the bisection's resolution."""
    truth = load_profile("legacy-interlaced", KNOWN | {"colour_sampling": sampling, "aberration_blur_um": blur_um})
    real = measure_chart(truth, seed=5).sharpness
    base = load_profile("legacy-interlaced", KNOWN | {"aberration_blur_um": 3.0})
    core = _match_core(base, real, seed=1)
    assert core is not None
    assert core.values.get("colour_sampling", "mosaic") == sampling
    assert core.values["aberration_blur_um"] == pytest.approx(blur_um, rel=0.1)
    matched = measure_chart(load_profile("legacy-interlaced", KNOWN | core.values), seed=1).sharpness
    index = min(range(len(real.narrow_contrast_classes)),
                key=lambda k: np.nan_to_num(real.narrow_contrast_classes[k].rise_px[0], nan=np.inf))
    assert matched.narrow_contrast_classes[index].rise_px[0] == pytest.approx(
        real.narrow_contrast_classes[index].rise_px[0], rel=0.05)
    assert "stated proxy" in core.comments["aberration_blur_um"]


@pytest.mark.parametrize("sigma_px", [0.8, 1.0, 1.5])
def test_an_edges_rise_is_that_of_its_blur(sigma_px):
    """The 25-75% and 10-90% rise of a step's median centred edge: for a Gaussian of sigma s,
    2 x 0.674 s and 2 x 1.282 s (the normal quantiles), where s also holds the pixel's own width
    (a box of 1 px: variance 1/12); in noise of 1 DN on an 80 DN step. (Sharper edges read short:
    at sigma 0.3 and 0.5 px, 0.49 and 0.66 px for 0.56 and 0.78, as a 16-row window samples the
    edge at few phases; a comparison of real and chart windows shares that bias.)"""
    image = 60.0 + 80.0 * _slanted_step(sigma_px) + np.random.default_rng(0).normal(0.0, 1.0, (96, 96))
    found = measure.edge_windows(image, window_px=(16, 16), step_px=4)
    assert len(found) >= 10
    median = np.nanmedian([measure.edge_shape(image, window).centred for window in found], axis=0)
    sigma = math.sqrt(sigma_px**2 + 1.0 / 12.0)
    assert measure.rise_px(median, low=0.25, high=0.75) == pytest.approx(1.349 * sigma, abs=0.1)
    assert measure.rise_px(median, low=0.1, high=0.9) == pytest.approx(2.563 * sigma, abs=0.15)
    assert math.isnan(measure.rise_px(median, low=-0.5, high=0.9))  # never that low in the window


def test_a_clipped_edge_is_refused_as_it_would_read_too_sharp():
    # A step from 100 to 400 DN blurred by 1.5 px and stored in 8 bits: clipping at 255 cuts
    # the upper half of its blur, so it reads far sharper than the same step unclipped.
    supersample = 8
    fine_rows, fine_cols = np.indices((96 * supersample, 96 * supersample)) / supersample
    fine = (fine_cols - 48 - 0.09 * (fine_rows - 48) > 0).astype(np.float64)
    edge = gaussian_filter(fine.reshape(96, supersample, 96, supersample).mean(axis=(1, 3)), 1.5)
    clipped = np.clip(100.0 + 300.0 * edge, 0.0, 255.0)
    assert measure.edge_windows(clipped) == []
    kept = measure.edge_windows(clipped, clip_margin_dn=0.0)
    unclipped = measure.edge_windows(100.0 + 150.0 * edge)
    assert kept and unclipped
    assert measure.pooled_mtf50(kept) > 1.3 * measure.pooled_mtf50(unclipped)


def test_a_ramp_is_no_edge_and_a_blur_wider_than_the_window_is_not_measured(monkeypatch):
    # Shading on a wall: a straight, slanted ramp of 60 DN across the whole window. Its
    # ends look flat enough (spread under 12% of its contrast) but its transition runs past the
    # window; measured, it would read as a very soft edge. A step blurred by 5 px is refused by
    # 24-px windows too; by 1 px it is found in both the 24-px and the narrow 16-px windows.
    rows, cols = np.indices((96, 96), dtype=np.float64)
    across = cols - 48 - 0.09 * (rows - 48)
    ramp = 100.0 + 60.0 * np.clip(across / 30.0 + 0.5, 0.0, 1.0)
    supersample = 8
    fine_rows, fine_cols = np.indices((96 * supersample, 96 * supersample)) / supersample
    fine = (fine_cols - 48 - 0.09 * (fine_rows - 48) > 0).astype(np.float64)
    edge = fine.reshape(96, supersample, 96, supersample).mean(axis=(1, 3))
    wide = 60.0 + 120.0 * gaussian_filter(edge, 5.0)
    assert measure.edge_windows(ramp) == [] and measure.edge_windows(wide) == []
    sharp = 60.0 + 120.0 * gaussian_filter(edge, 1.0)
    assert measure.edge_windows(sharp) and measure.edge_windows(sharp, window_px=(16, 16), step_px=4)
    # Without the rule, the ramp reads as soft as FRMDB's room did, and the wide blur sharper
    # than it is (truncated by the window).
    monkeypatch.setattr(measure, "EDGE_MAX_TAIL_SLOPE", math.inf)
    assert measure.pooled_mtf50(measure.edge_windows(ramp)) < 0.08
    true_mtf50 = math.sqrt(math.log(2.0) / (2.0 * math.pi**2)) / 5.0
    assert measure.pooled_mtf50(measure.edge_windows(wide)) > 1.3 * true_mtf50


def test_the_chart_is_held_still_when_the_profiles_subjects_walk():
    walking = load_profile(PROFILES_DIR / "validation" / "frmdb-cctv.toml")
    assert walking.subject_speed_mps > 0
    still = load_profile(PROFILES_DIR / "validation" / "frmdb-cctv.toml", {"subject_speed_mps": 0.0})
    assert chart_frames(walking, count=1) == chart_frames(still, count=1)


def test_blocks_with_a_clipped_colour_channel_measure_no_noise():
    """A colour block whose red channel touches 255 in one pixel is left out of the noise measure,
    although its luma stays far from clipping; the frame's other blocks are kept, and the whole
    frame's measure (``measure_frame``) leaves it out too."""
    rng = np.random.default_rng(5)
    frame = np.clip(rng.normal(120.0, 2.0, (32, 48, 3)), 1, 254)  # six 16-px blocks
    frame[3, 20, 0] = 255.0  # second block of the top row: red clipped, that pixel's luma about 160
    luma = measure.luma_dn(frame)
    assert luma.max() < 254.5
    means = measure.block_noise(luma).mean_dn
    kept = measure.block_noise(luma, clipped_px=measure.clipped(frame))
    assert (len(means), len(kept.mean_dn), len(kept.correlation)) == (6, 5, 5)
    assert kept.mean_dn.tolist() == np.delete(means, 1).tolist()
    assert measure.clipped(frame).sum() == 1 and measure.clipped(luma).sum() == 0
    assert len(measure_frame(frame.round().astype(np.uint8)).blocks.mean_dn) == 5
    assert np.all(kept.sigma_dn > 1.0)  # the kept blocks' noise is measured as before


def test_flat_fields_are_read_on_the_share_of_flat_blocks_that_the_frames_read():
    """Frames whose flattest 10% at 104 DN (20 of 200 blocks) are 20 of their 30 blocks as flat as
    noise (sigma 1.0-1.9 DN; the other 170 textured, 5-20 DN): flat fields of the same noise
    (100 blocks, 1-2 DN evenly) are read on their flattest 2/3, 66 blocks, median 1 + 32.5/99 =
    1.328 DN, beside the frames' 1 + 9.5 x 0.9/29 = 1.295; their flattest 10% would read 1.045.
    At 200 DN the frames hold 2 flat blocks of the 5 read, so every flat-field block is read
    (1.5 DN); 40 DN, which the flat fields show in 3 blocks only, is left out. The ceiling is the
    flat fields' 99% quantile, 1 + 98.01/99 DN."""
    ramp = np.linspace(1.0, 2.0, 100)
    flat = measure.BlockNoise(np.repeat([104.0, 200.0, 40.0], [100, 100, 3]),
                              np.concatenate([ramp, ramp, [1.0, 1.1, 1.2]]), np.zeros((203, 2)))
    frame_sigma = [np.linspace(1.0, 1.9, 30), np.linspace(5.0, 20.0, 170), [1.2, 1.3], np.linspace(10, 20, 48),
                   np.linspace(1.0, 2.0, 60)]
    frames = measure.BlockNoise(np.repeat([104.0, 104.0, 200.0, 200.0, 40.0], [30, 170, 2, 48, 60]),
                                np.concatenate(frame_sigma), np.zeros((310, 2)))
    assert measure.flat_shares(flat, frames) == {104.0: pytest.approx(20 / 30), 200.0: 1.0}
    matched = measure.matched_noise_curve(flat, frames)
    assert matched.level_dn.tolist() == [104.0, 200.0] and matched.blocks.tolist() == [66, 100]
    assert matched.sigma_dn == pytest.approx([1 + 32.5 / 99, 1.5])
    assert measure.noise_curve(frames).sigma_dn[1] == pytest.approx(1 + 9.5 * 0.9 / 29)  # 104 DN
    assert measure.noise_curve(flat).sigma_dn[0] == pytest.approx(1 + 4.5 / 99)


def test_poisson_gaussian_fit_recovers_gain_and_read_noise():
    rng = np.random.default_rng(3)
    gain, read_e = 0.4, 6.0
    patches = []
    for level_dn in np.linspace(20, 220, 12):
        electrons = rng.poisson(level_dn / gain, size=(64, 64)) + rng.normal(0, read_e, (64, 64))
        patches.append(electrons * gain)
    image = np.concatenate(patches, axis=1)
    # Flat patches hold pure noise: take every block, not only the flattest.
    curve = measure.noise_curve(measure.block_noise(image), flat_fraction=1.0)
    fit = measure.fit_poisson_gaussian(curve, tone_curve="linear")
    assert fit.gain_dn_per_e == pytest.approx(gain, rel=0.15)
    assert fit.read_noise_e == pytest.approx(read_e, rel=0.3)


def _calibrate_json(capsys, frames: list[Path], out: Path) -> dict:
    assert main(["calibrate", *map(str, frames), "--base", "legacy-interlaced", "--out", str(out),
                 "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.slow
def test_calibrate_recovers_the_settings_of_simulated_frames(tmp_path, capsys):
    truth = load_profile("legacy-interlaced", KNOWN)
    frames = []
    data = chart_frames(truth, seed=11, count=6, scenes=walking_scenes(6))
    for index, jpeg in enumerate(data):
        frames.append(tmp_path / f"frame{index}.jpg")
        frames[-1].write_bytes(jpeg)
    # The walker's edges are found, and would soften the estimate if they counted: every
    # window's MTF50 pooled is below the static chart's by more than the static estimate's 10%
    # tolerance (the widest of its blur run past the window and are refused as not contained).
    still = measure.pooled_mtf50(measure_stored(chart_frames(truth, seed=11, count=1)[0]).edges)
    windows = [window for jpeg in data for window in measure_stored(jpeg).edges]
    assert measure.pooled_mtf50(windows) < 0.9 * still
    out = tmp_path / "calibrated.toml"
    result = _calibrate_json(capsys, frames, out)
    sharpness = result["measured"]["sharpness"]
    assert sharpness["measured"] and sharpness["static_windows"] < sharpness["edge_windows"]
    assert sharpness["mtf50_cyc_per_px"] == pytest.approx(still, rel=0.1)
    profile = load_profile(out)
    assert (profile.sensor_width_px, profile.sensor_height_px) == (352, 288)
    assert profile.spectral_mode == "colour" and profile.jpeg_quality == 70
    assert profile.jpeg_chroma_subsampling == "4:2:0"
    # Stated tolerances: sharpness and noise within 15% (the goal); the split of the noise
    # between its shot and read parts is weakly determined after JPEG, the gain within 25%.
    assert profile.aberration_blur_um == pytest.approx(20.0, rel=0.15)
    real_mtf, simulated_mtf = result["checks"]["mtf50_cyc_per_px"].values()
    assert simulated_mtf == pytest.approx(real_mtf, rel=0.15)
    # Frames of the camera model itself: one blur value matches the whole curve, not MTF50 only.
    for frequency in ("0.1", "0.25"):
        real, simulated = result["checks"][f"mtf_at_{frequency}_cyc_per_px"].values()
        assert simulated == pytest.approx(real, abs=0.05)
    # ... and it renders a step alike at every contrast and in either window.
    assert sharpness["contrast_dependence"] is None and sharpness["window_dependence"] is None
    assert sum(c["mtf50_cyc_per_px"] is not None for c in sharpness["by_contrast"]) >= 2
    # Its edges' core too: the calibrated chart rises as its frames' edges do, in every class measured.
    cores = [check for key, check in result["checks"].items() if key.startswith("rise_25_75_contrast_")]
    assert cores and all(c["simulated"] == pytest.approx(c["real"], rel=0.15) for c in cores)
    assert not any(remark.startswith("edge core:") for remark in result["remarks"])
    assert result["checks"]["noise_sigma_ratio"]["simulated"] == pytest.approx(1.0, abs=0.15)
    assert profile.gain_dn_per_e == pytest.approx(0.5, rel=0.25)
    # Its noise is matched at every level (by the sensor's curve or, where texture among some
    # levels' flattest blocks bends the frames' curve, as a stored noise), so nothing is warned.
    levels_checked = [key for key in result["checks"] if key.startswith("noise_sigma_") and key.endswith("_dn")]
    levels = [result["checks"][key] for key in levels_checked]
    assert len(levels) >= 3 and result["warnings"] == []
    assert all(check["simulated"] == pytest.approx(check["real"], rel=0.15) for check in levels)
    # ... and in its spread over neighbouring pixels, within the tolerance. (Flat fields hold no
    # scene: the chart's and the walkers' blurred edges among some levels' flattest blocks are read
    # as noise; whether the sensor's one curve then stays within 15% at every level has changed
    # with the machine's arithmetic, docs/VALIDATION.md, "Recovery of known settings".)
    for lag in (1, 2):
        real, simulated = result["checks"][f"noise_correlation_{lag}_px"].values()
        assert simulated == pytest.approx(real, abs=0.15)
    # The camera's own noise, not only the frames' reading of it: read on every block of flat
    # fields (each is flat), the calibrated camera's is within 5% of the true one's at the median
    # level the frames show. Until session 27 calibrate read its flat fields on their flattest
    # 10%, the low tail of a noise that JPEG 70 spreads from block to block, and made this camera
    # 3-21% too noisy at every level (benchmarks/RESULTS.md, "`calibrate` recovering a known
    # camera"); now 0.94-1.16 times, the most where the walkers' blurred edges are read as noise.
    shown = [float(key.split("_")[2]) for key in levels_checked]
    true_noise, calibrated_noise = (measure.noise_curve(flat_field_blocks(camera, shown), flat_fraction=1.0)
                                    for camera in (truth, profile))
    ratios = [sim / real for _, real, sim in calibration.noise_by_level(calibrated_noise, true_noise)]
    assert len(ratios) >= len(shown) - 1 and float(np.median(ratios)) == pytest.approx(1.0, abs=0.05), ratios
    # Written on its base: what frames cannot tell stays the base's.
    layers = resolve_profile(out)
    assert layers.values["hfov_deg"].file.name == "legacy-interlaced.toml"
    assert "measured" in layers.values["jpeg_quality"].comment


@pytest.mark.slow
@pytest.mark.parametrize(("quality", "blur_um"), [(30, 20.0), (50, 5.0)])
def test_calibrate_recovers_the_lens_of_an_infrared_camera_at_low_jpeg_quality(tmp_path, capsys, quality, blur_um):
    """ANPR-like cameras: monochrome, JPEG quality 30 or 50. Behind the base's far noisier sensor
    the chart shows no measurable edge at a sharp lens, which sent the lens search to its sharp end
    (0.94 um, the chart's MTF50 0.349 for the frames' 0.160, and 0.444 for 0.357, without a
    warning) until the chart carried the noise matched to the frames."""
    truth = load_profile("legacy-interlaced", {**KNOWN, "spectral_mode": "infrared", "jpeg_quality": quality,
                                               "aberration_blur_um": blur_um})
    frames = []
    for index, jpeg in enumerate(chart_frames(truth, seed=11, count=6, scenes=walking_scenes(6))):
        frames.append(tmp_path / f"frame{index}.jpg")
        frames[-1].write_bytes(jpeg)
    out = tmp_path / "infrared.toml"
    result = _calibrate_json(capsys, frames, out)
    profile = load_profile(out)
    assert profile.spectral_mode == "infrared" and profile.jpeg_quality == quality
    assert profile.aberration_blur_um == pytest.approx(blur_um, rel=0.15)
    real_mtf, simulated_mtf = result["checks"]["mtf50_cyc_per_px"].values()
    assert simulated_mtf == pytest.approx(real_mtf, rel=0.15)
    assert result["warnings"] == []


def test_a_calibrated_chart_that_misses_the_frames_sharpness_is_warned_about():
    assert calibration._sharpness_miss((0.160, 0.170), "mtf50_cyc_per_px") is None
    miss = calibration._sharpness_miss((0.160, 0.349), "mtf50_cyc_per_px")
    assert "mtf50_cyc_per_px: frames 0.16, calibrated chart 0.349" in miss and "15%" in miss
    assert "shows none of the edges" in calibration._sharpness_miss(None, "rise_25_75_contrast_20_60_dn_px")
    assert "shows none of the edges" in calibration._sharpness_miss((0.160, math.nan), "mtf50_cyc_per_px")


@pytest.mark.slow
def test_calibrate_recovers_a_stored_noise_that_no_sensor_makes(tmp_path, capsys):
    """Flat grey frames of a camera whose noise peaks at mid grey and spreads over 2 px (a stored
    noise, as the FRMDB CCTV's), one per level, stored at its JPEG quality 95: no Poisson-Gaussian
    curve follows it, so calibrate writes the noise in stored values and recovers the camera's
    table and length."""
    truth_table = [[40.0, 1.0], [120.0, 4.0], [200.0, 1.5]]
    truth = load_profile("legacy-interlaced", {**KNOWN, "jpeg_quality": 95, "stored_noise_dn": truth_table,
                                               "stored_noise_correlation_px": 2.0})
    frames = []
    for index, jpeg in enumerate(flat_fields(truth, np.arange(40.0, 216.0, 16.0), seed=3)):
        frames.append(tmp_path / f"frame{index}.jpg")
        frames[-1].write_bytes(jpeg)
    out = tmp_path / "stored.toml"
    result = _calibrate_json(capsys, frames, out)
    assert result["warnings"] == []
    profile = load_profile(out)
    assert profile.stored_noise_correlation_px == pytest.approx(2.0, abs=0.5)
    levels_dn, sigmas_dn = np.array(truth_table).T
    assert len(profile.stored_noise_dn) == 11
    for level, sigma in profile.stored_noise_dn:
        assert sigma == pytest.approx(float(np.interp(level, levels_dn, sigmas_dn)), rel=0.15), level


@pytest.mark.slow
def test_one_frame_has_no_static_scene_so_the_base_lens_blur_is_kept(tmp_path, capsys):
    frame = tmp_path / "only.jpg"
    frame.write_bytes(chart_frames(load_profile("legacy-interlaced", KNOWN), count=1)[0])
    out = tmp_path / "one.toml"
    assert main(["calibrate", str(frame), "--base", "legacy-interlaced", "--out", str(out),
                 "--json"]) == 0
    captured = capsys.readouterr()
    sharpness = json.loads(captured.out)["measured"]["sharpness"]
    assert sharpness["edge_windows"] > 0 and sharpness["static_windows"] == 0
    assert "sharpness not measured" in captured.err
    layers = resolve_profile(out)
    base_blur_um = load_profile("legacy-interlaced").aberration_blur_um
    assert layers.values["aberration_blur_um"].value == base_blur_um
    assert "not measured" in layers.values["aberration_blur_um"].comment


@pytest.mark.slow
def test_calibrate_on_real_cctv_frames(tmp_path, capsys):
    if not FRMDB_FRAMES.is_dir():
        if os.environ.get("EVALHARNESS_SHARED"):
            pytest.fail(f"FRMDB frames missing at {FRMDB_FRAMES}")
        pytest.skip(f"FRMDB frames not at {FRMDB_FRAMES}")
    frames = sorted(FRMDB_FRAMES.glob("*/Img_0*.jpg"))  # all: a view recurs across sessions
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not a jpeg")
    out = tmp_path / "frmdb.toml"
    code = main(["calibrate", *map(str, [*frames, bad]), "--base", "legacy-interlaced",
                 "--out", str(out), "--json"])
    captured = capsys.readouterr()
    assert code == 3 and str(bad) in captured.err  # reported, the rest calibrated
    result = json.loads(captured.out)
    measured = result["measured"]
    assert (measured["width_px"], measured["height_px"], measured["monochrome"]) == (352, 288, False)
    assert 90 <= measured["jpeg_quality"][0] <= 100
    sharpness = measured["sharpness"]
    # Of the natural edges found, those on people do not recur; enough static ones do.
    assert sharpness["measured"] and sharpness["static_windows"] < sharpness["edge_windows"] / 2
    # The natural edges do not measure a lens here: narrow windows find edges far sharper than
    # the standard ones, where on the model's own chart they agree (the recovery test above).
    assert sharpness["narrow_mtf50_cyc_per_px"] > 1.5 * sharpness["mtf50_cyc_per_px"]
    # Nor do the narrow windows alone measure one: their MTF50 grows with the edges' contrast.
    assert "MTF50 of the static 16x16 px windows by contrast" in sharpness["contrast_dependence"]
    assert sum(c["windows"] for c in sharpness["by_contrast"]) == sharpness["static_windows"]
    # So the stated proxy sets the lens: the core of the fastest edges (100-150 DN). They rise
    # faster than a mosaic at 352x288 renders any step, so the frames were sampled at full colour
    # ("The CCTV edges' halo and core"), and the chart through the profile rises within 15% of them.
    layers = resolve_profile(out)
    sampling, blur = layers.values["colour_sampling"], layers.values["aberration_blur_um"]
    assert sampling.value == "full" and "100-150 DN edges" in sampling.comment and sampling.file == out
    assert "stated proxy" in blur.comment and sharpness["window_dependence"] in blur.comment and blur.file == out
    assert "aberration_blur_um" not in captured.err  # matched, so not warned as the base's
    assert result["sharpness_check"] == "rise_25_75_contrast_100_150_dn_px"
    strong, faint = (result["checks"][f"rise_25_75_contrast_{c}_dn_px"] for c in ("100_150", "20_60"))
    assert strong["simulated"] == pytest.approx(strong["real"], rel=0.15)
    assert not any(remark.startswith("edge core:") for remark in result["remarks"])
    # The faint natural edges are soft in the scene (shading): no linear chain renders both, and
    # their MTF50 reads the room, not the lens ("Measured profile").
    assert faint["real"] > 2 * faint["simulated"]
    real_mtf, simulated_mtf = result["checks"]["mtf50_cyc_per_px"].values()
    assert simulated_mtf > 2 * real_mtf
    assert result["checks"]["noise_sigma_ratio"]["simulated"] == pytest.approx(1.0, abs=0.15)
    # No one Poisson-Gaussian curve follows the frames' noise (it peaks at mid grey), so the noise
    # is drawn as measured in stored values, and matched at every level the frames show.
    profile = load_profile(out)
    assert profile.stored_noise_dn is not None and "misses the frames' noise" in layers.values["gain_dn_per_e"].comment
    levels = {key: check for key, check in result["checks"].items()
              if key.startswith("noise_sigma_") and key.endswith("_dn")}
    assert len(levels) >= 12  # flat fields show every level, 24-232 DN
    assert all(check["simulated"] == pytest.approx(check["real"], rel=0.15) for check in levels.values())
    peak = max(levels, key=lambda key: levels[key]["real"])
    assert 56 <= int(peak.split("_")[2]) <= 120  # where the faces lie
    # Its spread over neighbours: one pixel apart matched; two apart the camera's noise reaches
    # further than one exponential correlation can make, but within the tolerance.
    real, simulated = result["checks"]["noise_correlation_1_px"].values()
    assert real > 0.5 and simulated == pytest.approx(real, abs=0.15)
    real, simulated = result["checks"]["noise_correlation_2_px"].values()
    assert real - 0.15 < simulated < real
    assert result["warnings"] == []
    assert load_profile(out).spectral_mode == "colour"


def test_the_committed_frmdb_profile_inherits_what_frames_cannot_tell():
    layers = resolve_profile(PROFILES_DIR / "validation" / "frmdb-cctv-calibrated.toml")
    assert [p.name for p in layers.chain] == ["frmdb-cctv-calibrated.toml", "legacy-interlaced.toml"]
    measured = {key for key, item in layers.values.items() if item.file == layers.path}
    assert {"sensor_width_px", "jpeg_quality", "aberration_blur_um", "gain_dn_per_e"} <= measured
    assert {"hfov_deg", "distance_m", "speed_kmh"}.isdisjoint(measured)
    assert all(layers.values[key].comment for key in measured)  # each says how it was measured
    profile = load_profile(layers.path)
    assert (profile.sensor_width_px, profile.sensor_height_px, profile.spectral_mode) == (352, 288, "colour")


def test_frames_without_a_block_free_of_clipping_keep_the_base_noise_and_say_so(tmp_path, capsys):
    """Every 16-px block holds a red pixel at 255: no block can measure noise, so the base's gain
    and read noise are kept, the comment and a warning say why, and no noise check is printed."""
    rng = np.random.default_rng(2)
    frames = []
    for index in range(2):
        frame = np.clip(rng.normal(120.0, 3.0, (288, 352, 3)), 1, 254).astype(np.uint8)
        frame[::16, ::16, 0] = 255
        frames.append(tmp_path / f"f{index}.png")
        Image.fromarray(frame).save(frames[-1])
    out = tmp_path / "new.toml"
    assert main(["calibrate", *map(str, frames), "--base", "legacy-interlaced", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "warning: gain_dn_per_e and read_noise_e are the base's: noise not measured" in err
    base, layers = load_profile("legacy-interlaced"), resolve_profile(out)
    assert layers.values["gain_dn_per_e"].value == base.gain_dn_per_e
    assert layers.values["read_noise_e"].value == base.read_noise_e
    assert "free of clipping" in layers.values["gain_dn_per_e"].comment
    assert "noise_sigma" not in out.read_text(encoding="utf-8")


def _dark_frames(tmp_path: Path) -> list[Path]:
    """Two 352x288 JPEG frames (quality 95) of grey at 30 DN with 3 DN of white noise per
    channel: one flat level, 24 DN, below what the chart's frame shows."""
    rng = np.random.default_rng(4)
    frames = []
    for index in range(2):
        frames.append(tmp_path / f"d{index}.jpg")
        Image.fromarray(np.clip(rng.normal(30.0, 3.0, (288, 352, 3)), 1, 254).astype(np.uint8)).save(
            frames[-1], quality=95)
    return frames


def test_dark_frames_are_matched_on_flat_fields_at_their_level(tmp_path, capsys):
    """JPEG frames whose only flat level is 24 DN, which the test chart's frame does not show:
    the flat fields are filmed at the frames' own levels, so the noise there is matched."""
    frames = _dark_frames(tmp_path)
    out = tmp_path / "dark.toml"
    result = _calibrate_json(capsys, frames, out)
    real, simulated = result["checks"]["noise_sigma_24_dn"].values()
    assert simulated == pytest.approx(real, rel=0.15)
    assert resolve_profile(out).values["gain_dn_per_e"].comment.startswith("closed loop on")


def test_a_noise_the_simulation_does_not_show_is_a_miss():
    """The noise check lists a level the simulated flat fields do not show (their blocks all
    clip) and a correlation they cannot measure, which compare as NaN, instead of passing them."""
    from evalharness.camera.calibration import _noise_misses

    real = measure.NoiseCurve(np.array([24.0, 100.0]), np.array([0.7, 1.8]), np.ones(2), np.full(2, 40),
                              np.array([[0.6, 0.4], [0.6, 0.4]]))
    assert _noise_misses(real, real) == ""
    nothing = real.select(np.zeros(2, bool))
    assert _noise_misses(nothing, real) == ("24 DN not shown (every simulated block clips), 100 DN not shown "
                                            "(every simulated block clips), correlation 1 px apart nan for 0.60, "
                                            "correlation 2 px apart nan for 0.40")


def test_ten_real_frames_whose_first_flat_fields_show_no_noise_are_still_matched(tmp_path, capsys):
    """Ten FRMDB frames fit a gain whose simulated flat fields show no noise above the codec's
    (a ratio near 0): the noise loop steps by at most a factor of ten and stays in the gain's
    range, so it comes back and matches the frames' noise, where it once ran off to the range's
    end (1000 DN/e-) with no warning."""
    if not FRMDB_FRAMES.is_dir():
        pytest.skip(f"FRMDB frames not at {FRMDB_FRAMES}")
    frames = sorted(FRMDB_FRAMES.glob("00[12]/*.jpg"))
    result = _calibrate_json(capsys, frames, tmp_path / "ten.toml")
    assert len(frames) == 10 and result["values"]["gain_dn_per_e"] < 1.0
    ratio = result["checks"]["noise_sigma_ratio"]
    assert ratio["simulated"] == pytest.approx(ratio["real"], rel=0.15)
    levels = [check for key, check in result["checks"].items() if key.startswith("noise_sigma_") and key[12].isdigit()]
    assert len(levels) >= 10 and all(c["simulated"] == pytest.approx(c["real"], rel=0.15) for c in levels)


def test_a_base_with_a_stored_noise_gets_the_frames_noise_not_its_own(tmp_path, capsys):
    """On a base that gives a stored noise (a calibrated camera), the sensor curve is matched
    without it, and the frames' noise is written as a stored noise of their own, as a profile on
    that base cannot unset the base's."""
    frames = _dark_frames(tmp_path)
    base = tmp_path / "stored-base.toml"
    base.write_text('base = "legacy-interlaced"\nstored_noise_dn = [[0.0, 9.0], [255.0, 9.0]]\n', encoding="utf-8")
    out = tmp_path / "on-stored.toml"
    assert main(["calibrate", *map(str, frames), "--base", str(base), "--out", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    real, simulated = result["checks"]["noise_sigma_24_dn"].values()
    assert simulated == pytest.approx(real, rel=0.15) and result["warnings"] == []
    layers = resolve_profile(out)
    assert layers.values["stored_noise_dn"].file == out
    assert "cannot unset" in layers.values["gain_dn_per_e"].comment


def test_frames_of_two_sizes_or_none_readable_are_one_clear_error(tmp_path, capsys):
    for name, size in (("a.jpg", (352, 288)), ("b.jpg", (320, 240))):
        Image.fromarray(np.full(size[::-1], 100, np.uint8)).save(tmp_path / name, quality=80)
    out = tmp_path / "new.toml"
    assert main(["calibrate", str(tmp_path / "a.jpg"), str(tmp_path / "b.jpg"),
                 "--base", "legacy-interlaced", "--out", str(out)]) == 3
    err = capsys.readouterr().err
    assert "one size" in err and "b.jpg 320x240" in err and not out.exists()
    (tmp_path / "c.jpg").write_bytes(b"\xff\xd8 truncated")
    assert main(["calibrate", str(tmp_path / "c.jpg"), "--base", "legacy-interlaced",
                 "--out", str(out)]) == 3
    err = capsys.readouterr().err
    assert "c.jpg" in err and "none of the 1 frames" in err and "Traceback" not in err


def test_the_profile_written_may_not_be_its_own_base(tmp_path, capsys):
    """--out naming the base, or a base of the base, is refused before anything is measured or
    written: it would replace the profile it inherits from."""
    Image.fromarray(np.full((288, 352), 100, np.uint8)).save(tmp_path / "a.jpg", quality=80)
    lower = tmp_path / "lower.toml"
    lower.write_text('base = "legacy-interlaced"\ndistance_m = 12  # my setting\n', encoding="utf-8")
    upper = tmp_path / "upper.toml"
    upper.write_text('base = "lower.toml"\n', encoding="utf-8")
    for out in (upper, lower):
        assert main(["calibrate", str(tmp_path / "a.jpg"), "--base", str(upper), "--out", str(out)]) == 2
        assert "is the base profile (or one of its bases)" in capsys.readouterr().err
    assert "# my setting" in lower.read_text(encoding="utf-8") and upper.read_text(encoding="utf-8") == \
        'base = "lower.toml"\n'


def _needs_frames() -> None:
    """Skip without the FRMDB frames that scripts/edge_sharpness.py is tested on."""
    if not FRMDB_FRAMES.is_dir():
        pytest.skip(f"FRMDB frames not at {FRMDB_FRAMES}")


def test_the_edge_sharpness_script_keeps_clipped_edges_only_when_asked(capsys, monkeypatch):
    _needs_frames()
    frames = [str(p) for p in sorted(FRMDB_FRAMES.glob("00[3-5]/*.jpg"))]
    found = {}
    for margin in ("5", "0"):
        monkeypatch.setattr("sys.argv", ["edge_sharpness.py", *frames, "--no-bounds",
                                         "--clip-margin", margin, "--profile", "legacy-interlaced"])
        edge_sharpness.main()
        text = capsys.readouterr().out
        assert "| real frames |" in text and "| chart through legacy-interlaced |" in text
        found[margin] = int(text.split(" edge windows")[0].split()[-1])
    assert found["0"] > found["5"] > 0


@pytest.mark.slow
def test_the_real_edges_high_frequencies_are_a_floor_where_the_models_fall(capsys, monkeypatch):
    _needs_frames()
    frames = [str(p) for p in sorted(FRMDB_FRAMES.glob("*/Img_0*.jpg"))]
    monkeypatch.setattr("sys.argv", ["edge_sharpness.py", *frames, "--no-bounds", "--curve",
                                     "--profile", "legacy-interlaced"])
    edge_sharpness.main()
    cells = [[cell.strip() for cell in line.strip("|").split("|")]
             for line in capsys.readouterr().out.splitlines() if ", all (" in line]
    rows = {row[0].split(" (")[0]: [float(value) for value in row[1:]] for row in cells}
    frequencies = list(edge_sharpness.CURVE_CYC_PER_PX)
    tail = frequencies.index(0.25)
    real, chart = rows["real frames, all"], rows["chart through legacy-interlaced, all"]
    # A lens passes less at every higher frequency: the chart's curve falls to the Nyquist
    # frequency. The real natural edges' curve stops falling by 0.25 cycles/px: what remains is
    # a floor of noise and texture, not sharpness (docs/VALIDATION.md, "Measured profile"), after
    # falling to under half of its value at the lowest frequency (a third of it with session 12's
    # static windows, 2.9 times with the 31 that the unclipped blocks' noise keeps).
    assert chart[-1] < 0.5 * chart[tail]
    assert max(real[tail:]) < 1.15 * min(real[tail:]) and real[0] > 2 * real[tail]


@pytest.mark.slow
def test_the_real_edges_halo_lies_far_from_them_and_their_core_depends_on_their_step(capsys, monkeypatch):
    """``edge_sharpness.py --halo --core`` on the 95 FRMDB frames (docs/VALIDATION.md, "The
    CCTV edges' halo and core"). The real static edges' halo grows with the step, but lies 4 px or
    more from the edge at 60-150 DN, where a sharpening or resampling filter's lies beside it
    (under 2 px, tested above): no ringing filter made it. Their core does what no linear chain
    does, which the chart through the measured profile shows: strong edges (100-150 DN) rise in
    under 0.7 times the chart's 25-75% rise, faint ones (20-60 DN) in more than twice it; the
    chart's rise stays within 10% at every step."""
    _needs_frames()
    frames = [str(p) for p in sorted(FRMDB_FRAMES.glob("*/*.jpg"))]
    monkeypatch.setattr("sys.argv", ["edge_sharpness.py", *frames, "--no-bounds", "--halo", "--core",
                                     "--profile", "configs/profiles/validation/frmdb-cctv-measured.toml"])
    edge_sharpness.main()
    out = capsys.readouterr().out

    def rows(title: str) -> tuple[list[str], list[str]]:
        text = out.split(title)[1].split("\n\n")[0]
        cells = {line.split("|")[1].strip(): [c.strip() for c in line.strip().strip("|").split("|")[1:]]
                 for line in text.splitlines() if line.startswith(("| real frames", "| chart"))}
        return cells["real frames"], next(c for name, c in cells.items() if name.startswith("chart"))

    real, chart = rows("halo of the static")

    def halo(cell: str) -> tuple[float, float, float]:
        over_dn = float(cell.split(" / ")[0])
        over_px, under_px = (float(v) for v in cell.split(" at ")[1].split(" px")[0].split(" / "))
        return over_dn, over_px, under_px

    assert halo(real[0])[0] < halo(real[1])[0] < halo(real[2])[0]           # grows with the step
    assert max(halo(cell)[0] for cell in chart[:4]) < 3.0                    # the chart's: noise
    assert all(min(halo(real[k])[1:]) >= 3.0 and np.mean(halo(real[k])[1:]) >= 4.0 for k in (1, 2))

    real, chart = rows("core of the static")

    def rise(cell: str) -> float:
        return float(cell.split(" / ")[0])

    assert max(rise(c) for c in chart[:4]) < 1.1 * min(rise(c) for c in chart[:4])
    assert rise(real[2]) < 0.7 * rise(chart[2]) and rise(real[0]) > 2.0 * rise(chart[0])


@pytest.mark.slow
@pytest.mark.parametrize("blur_um", [5.0, 20.0, 95.0])  # sigma 0.27, 1.07 and 5.1 px
def test_a_lens_reads_alike_in_narrow_and_standard_windows(blur_um):
    profile = load_profile("legacy-interlaced", KNOWN | {"aberration_blur_um": blur_um})
    sharpness = measure_chart(profile).sharpness
    assert sharpness.measured and sharpness.lens_inconsistency() is None
    if sharpness.narrow_static_windows >= MIN_STATIC_EDGES:  # a wide blur leaves none
        ratio = sharpness.narrow_mtf50_cyc_per_px / sharpness.mtf50_cyc_per_px
        assert 1 / WINDOW_AGREEMENT_RATIO < ratio < WINDOW_AGREEMENT_RATIO


@pytest.mark.slow
def test_the_frmdb_frames_keep_near_nyquist_what_a_mosaic_at_their_resolution_loses():
    """With one colour per stored pixel, bilinear demosaicking halves what a near-perfect lens
    passes near the Nyquist frequency; with all three (``colour_sampling = "full"``: a frame
    scaled down from a finer sensor) it stays. The FRMDB frames' strong edges keep more there
    than the mosaic chain can (docs/VALIDATION.md, "Colour sampling")."""
    if not FRMDB_FRAMES.is_dir():
        pytest.skip(f"FRMDB frames not at {FRMDB_FRAMES}")
    grid = measure.MTF_GRID_CYC_PER_PX
    near_nyquist = (grid >= 0.4) & (grid <= 0.5)
    chart = {}
    for sampling in ("mosaic", "full"):
        profile = load_profile("legacy-interlaced", KNOWN | {"aberration_blur_um": 3.0,
                                                             "colour_sampling": sampling})
        chart[sampling] = measure_chart(profile).sharpness.mean_mtf[near_nyquist].mean()
    assert chart["full"] > 2.0 * chart["mosaic"]
    real = []
    for path in sorted(FRMDB_FRAMES.glob("*/Img_0*.jpg")):
        with Image.open(path) as image:
            real.append(measure_image(image))
    strong = [c for c in summarise(real, ["frame"] * len(real)).sharpness.narrow_contrast_classes
              if c.low_dn >= 100.0 and c.windows >= MIN_STATIC_EDGES]
    assert strong and all(c.mean_mtf[near_nyquist].mean() > 2.0 * chart["mosaic"] for c in strong)


@pytest.mark.slow
def test_a_codec_softens_faint_edges_and_keeps_strong_ones(capsys, monkeypatch):
    """``edge_sharpness.py --chart-windows all``: through H.264 at a coarse quantiser the chart's
    faint edges read softer than its strong ones, as in the FRMDB frames; without the codec a
    linear chain reads every contrast alike (docs/VALIDATION.md, "Colour sampling")."""
    _needs_frames()
    frames = [str(p) for p in sorted(FRMDB_FRAMES.glob("00[3-5]/*.jpg"))]
    ratios = {}
    for settings in ([], ["--set", "video_qp=40"]):
        monkeypatch.setattr("sys.argv", ["edge_sharpness.py", *frames, "--no-bounds",
                                         "--chart-windows", "all", "--profile", "legacy-interlaced",
                                         *settings])
        edge_sharpness.main()
        row = next(line for line in capsys.readouterr().out.splitlines()
                   if line.startswith("| chart through") and "16x16 px windows" in line)
        mtf50 = [float(cell.split()[0]) for cell in row.strip("|").split("|")[1:]]
        ratios[bool(settings)] = mtf50[0] / mtf50[3]  # 20-60 DN over 150-200 DN
    assert 1 / 1.3 < ratios[False] < 1.3
    assert ratios[True] < 0.7
