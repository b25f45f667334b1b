"""Head pose from five landmarks: exact on the generic face, right in sign and order on FRMDB's
studio views (known angles), and the nearest-view choice by hand."""

from __future__ import annotations

import numpy as np
import pytest

from evalharness.quality.pose import head_pose, nearest_view, project_landmarks, view_angles_deg


@pytest.mark.parametrize(("yaw", "pitch", "roll"), [(0, 0, 0), (30, 0, 0), (-40, 20, 5), (10, 45, -10)])
def test_recovers_the_pose_of_the_generic_face(yaw: float, pitch: float, roll: float) -> None:
    points = project_landmarks(yaw_deg=yaw, pitch_deg=pitch, roll_deg=roll, ied_px=40.0) + [120.0, 80.0]
    pose = head_pose(points)
    assert pose.yaw_deg == pytest.approx(yaw, abs=0.5)
    assert pose.pitch_deg == pytest.approx(pitch, abs=0.5)
    assert pose.residual_ied < 1e-3
    assert pose.ied_px == pytest.approx(40.0, rel=1e-3)  # the frontal eye distance, whatever the yaw


def test_sign_conventions_by_hand() -> None:
    # Nose tip right of the eye midpoint: face turned to the image's right, positive yaw.
    frontal = project_landmarks(yaw_deg=0, pitch_deg=0)
    assert frontal[2, 0] == pytest.approx(0.0) and frontal[2, 1] == pytest.approx(0.6)
    turned = project_landmarks(yaw_deg=30, pitch_deg=0)
    assert turned[2, 0] == pytest.approx(0.3 * np.sin(np.radians(30)))  # nose depth 0.3 IED
    # Seen from above (positive pitch): the nose tip drops towards the mouth.
    above = project_landmarks(yaw_deg=0, pitch_deg=30)
    assert above[2, 1] == pytest.approx(0.6 * np.cos(np.radians(30)) + 0.3 * np.sin(np.radians(30)))


def test_rejects_malformed_landmarks() -> None:
    with pytest.raises(ValueError, match="5 finite"):
        head_pose(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="5 finite"):
        head_pose(np.full((5, 2), np.nan))


def test_nearest_view_by_hand() -> None:
    views = np.array([[-45, 0], [0, 0], [45, 0], [0, 30], [0, 60]], dtype=float)
    assert nearest_view(-30, 5, views) == 0
    assert nearest_view(10, 10, views) == 1
    assert nearest_view(5, 50, views) == 4
    # Seen from 80 degrees above, yaw hardly changes the viewing direction: the 60-degree view wins
    # over a level view at the same yaw.
    assert nearest_view(45, 80, views) == 4


def test_studio_views_of_frmdb_in_the_right_order(frmdb_dev) -> None:
    from evalharness.data.images import load_image
    from evalharness.evaluation.validation import find_face
    from evalharness.models import get_detector

    detector = get_detector("mtcnn", "cpu")
    ratios: dict[str, list[float]] = {"landmarks": [], "fitted": []}
    for subject in ("002", "041"):
        pose = {view: find_face(load_image(frmdb_dev / "mugshots" / subject / f"Img_{view}.png"), detector)
                for view in ("23", "33", "43", "32")}
        assert all(face.found for face in pose.values())
        # X = 2 and 4: 45 deg each side of the frontal view (whose own yaw is the sitter's).
        assert pose["23"].yaw_deg < min(-20, pose["33"].yaw_deg - 15)
        assert pose["43"].yaw_deg > max(20, pose["33"].yaw_deg + 15)
        assert pose["32"].pitch_deg > pose["33"].pitch_deg + 10  # Y = 2: camera 30 deg above
        # One camera distance for every view: the landmarks' eye distance shrinks by about cos 45
        # in the turned views; the fitted face's stays nearer the frontal view's (in the median:
        # on some faces the fit overshoots by a fifth).
        for view in ("23", "43"):
            ratios["landmarks"].append(pose[view].ied_px / pose["33"].ied_px)
            ratios["fitted"].append(pose[view].head_ied_px / pose["33"].head_ied_px)
    assert max(ratios["landmarks"]) < 0.85
    assert abs(np.median(ratios["fitted"]) - 1) < 0.5 * abs(np.median(ratios["landmarks"]) - 1)


def test_the_analytic_jacobian_is_the_residuals_derivative() -> None:
    """The fit's Jacobian against finite differences of its residual, at random poses."""
    from scipy.optimize import approx_fprime

    from evalharness.quality.pose import _jacobian, _residual

    rng = np.random.default_rng(7)
    for _ in range(5):
        target = project_landmarks(yaw_deg=rng.uniform(-60, 60), pitch_deg=rng.uniform(-40, 40),
                                   roll_deg=rng.uniform(-20, 20), ied_px=30.0) + rng.normal(0, 1, (5, 2))
        params = np.r_[rng.uniform(-1, 1, 3), rng.uniform(10, 40), rng.normal(0, 2, 2)]
        ied0 = np.array([30.0])
        numerical = np.stack([approx_fprime(params, lambda x, k=k: _residual(x[None], target[None], ied0)[0, k], 1e-7)
                              for k in range(10)])
        assert np.abs(_jacobian(params[None], target[None], ied0)[0] - numerical).max() < 1e-5


def test_view_angles_by_hand() -> None:
    views = np.array([[0, 0], [0, 30], [45, 0], [45, 60]], dtype=float)
    # Level views differ by their yaw; frontal views by their pitch; (45, 60) from (0, 0): the
    # direction (sin45 cos60, sin60, cos45 cos60) has cosine cos45 * cos60 = 0.354 with straight ahead.
    np.testing.assert_allclose(view_angles_deg(0.0, 0.0, views),
                               [0.0, 30.0, 45.0, np.degrees(np.arccos(np.cos(np.radians(45)) * 0.5))], atol=1e-9)
    np.testing.assert_allclose(view_angles_deg(0.0, 20.0, views)[:2], [20.0, 10.0], atol=1e-9)


def _scipy_fit(points: np.ndarray) -> tuple[np.ndarray, float]:
    """The bounded trust-region fit (scipy) of one face, the harness's fit before issue 17:
    its parameters and its cost."""
    from scipy.optimize import least_squares

    from evalharness.quality.pose import _LOWER, _UPPER, _jacobian, _residual

    eyes = points[1] - points[0]
    ied0 = np.array([max(float(np.hypot(*eyes)), 1e-6)])
    target = (points - points[:2].mean(axis=0))[None]
    start = np.array([0.0, 0.0, np.arctan2(eyes[1], eyes[0]), ied0[0], 0.0, 0.0])
    fit = least_squares(lambda x: _residual(x[None], target, ied0)[0], start,
                        jac=lambda x: _jacobian(x[None], target, ied0)[0], bounds=(_LOWER, _UPPER))
    return fit.x, float(np.sum(fit.fun ** 2))


def test_batched_fit_equals_scipys_on_real_landmarks(lfw_mini) -> None:
    """MTCNN's landmarks of real lfw-mini faces, as photographed and shrunk to 12 px between the
    eyes (noisier landmarks): the batched fit gives scipy's bounded fit's pose within 0.01
    degrees, never at a higher cost."""
    import torch.nn.functional as F

    from evalharness.data.images import load_image
    from evalharness.models import get_detector
    from evalharness.quality.pose import head_poses

    detector = get_detector("mtcnn", "cpu")
    images = [load_image(path) for path in sorted(lfw_mini.glob("*/*.jpg"))[:24]]
    small = [F.interpolate(image[None], scale_factor=0.25, mode="area")[0] for image in images]
    landmarks = np.array([found.landmarks[0] for found in detector.detect(images + small) if len(found)],
                         dtype=np.float64)
    assert len(landmarks) >= 40
    poses = head_poses(landmarks)
    for points, pose in zip(landmarks, poses, strict=True):
        params, cost = _scipy_fit(points)
        assert np.abs(np.degrees(params[:3]) - [pose.yaw_deg, pose.pitch_deg, pose.roll_deg]).max() < 0.01
        residual_ied = np.sqrt(cost / 5.0) * np.hypot(*(points[1] - points[0])) / params[3]
        assert pose.residual_ied == pytest.approx(residual_ied, rel=1e-4)


def test_a_face_beyond_the_bounds_is_fitted_within_them() -> None:
    """The generic face turned 100 degrees: its unbounded optimum lies beyond the 89-degree
    bound, so scipy's bounded fit gives that face's pose, exactly."""
    from evalharness.quality.pose import head_poses

    turned = project_landmarks(yaw_deg=100, pitch_deg=10, ied_px=40.0) + [60.0, 50.0]
    frontal = project_landmarks(yaw_deg=0, pitch_deg=0, ied_px=40.0)
    poses = head_poses(np.stack([turned, frontal]))
    params, _ = _scipy_fit(turned)
    assert [poses[0].yaw_deg, poses[0].pitch_deg, poses[0].roll_deg] == np.degrees(params[:3]).tolist()
    assert abs(poses[0].yaw_deg) <= 89.0
    assert abs(poses[1].yaw_deg) < 1e-6


def test_studio_head_scale_script_on_two_people(frmdb_dev, capsys) -> None:
    """``scripts/studio_head_scale.py``: one row per view with both people; in the two 45-degree
    views the fitted face's ratio to the frontal view lies nearer 1 than the landmarks'."""
    import studio_head_scale as script  # scripts/, on pytest's pythonpath (pyproject.toml)

    ratios = script.measure(frmdb_dev, ["002", "041"])
    for view in ("23", "43"):
        assert len(ratios[view]["fitted"]) == 2
        assert abs(np.median(ratios[view]["fitted"]) - 1) < abs(np.median(ratios[view]["landmarks"]) - 1)
    script.main([str(frmdb_dev), "--subjects", "002", "041"])
    rows = capsys.readouterr().out.splitlines()
    assert rows[0].startswith("| view | people") and len(rows) == 2 + len(script.VIEWS)
    assert all(row.split(" | ")[1] in {"1", "2"} for row in rows[2:])
