"""Road scene: the face as a roadside camera sees a driver, behind the windscreen of a car on a road.

Frame mode's alternative to :mod:`~evalharness.camera.frame`'s flat grey (``scene = "road"``).
Everything is built procedurally, in linear reflectance, in the road coordinates of
:mod:`~evalharness.camera.geometry` (metres) and projected through the same pinhole camera, so
the face canvas's eye midpoint stays exactly at ``(face_x_px, face_y_px)``:

- the road: every pixel's ray meets the ground (asphalt, dashed lane lines, a solid edge line,
  the pavement beyond the kerb) or, above the horizon, the sky;
- the car (:mod:`~evalharness.camera.car`) around the driver, each body face drawn when it
  faces the camera, far to near;
- the cabin, seen only through the windscreen glass: seats, the driver's torso, the face canvas
  inside a soft head-and-neck mask (the photograph's own background is not shown), the
  dashboard and the steering wheel in front of it; multiplied by the windscreen's transmission
  in the camera's band (the profile's ``windscreen_transmission_ir`` or ``_visible``);
- veiling glare: the sky reflected by the glass, added on the glass only. Its level at the eyes
  is the profile's ``veiling_glare_ratio`` (times the transmission, as the sensor's white level
  is the face's through the glass); across the glass it follows the glass's Fresnel reflectance
  at each pixel's incidence angle (unpolarised light, glass index 1.52 [REF: hecht-optics]);
- options: the sun visor down in front of the driver, and the A-pillar in front of the face (the
  car placed so that the driver-side pillar's inner edge falls on the eye midpoint, as a camera
  far to the side of the lane sees a driver) [REF: unece-r125].

The scene is lit as the face is (the profile's ``face_irradiance_w_m2``, no windscreen): the
sensor's white level is then the unglazed one, and the glass darkens only the cabin. An infrared
camera lights the road with its own flash, so there the ground's irradiance falls with the
square of its range from the camera (equal to the face's at the face's range); the car is lit as
the face is. Depth is simplified in one way: the face canvas is a flat photograph at the eye's
distance.
The whole frame then goes through the optics, motion, sensor and codec stages as before.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from evalharness.camera import car, frame, geometry
from evalharness.config.profile import CameraProfile

#: The frame-mode scenes: ``flat`` (:mod:`~evalharness.camera.frame`) or ``road`` (this module).
SCENES = ("flat", "road")

#: Refractive index of windscreen (soda-lime) glass [REF: hecht-optics].
GLASS_INDEX = 1.52

# Road, metres [assumption: a UK urban road].
LANE_WIDTH_M = 3.65
LINE_WIDTH_M = 0.10
DASH_M = (3.0, 6.0)           # lane line: mark, gap
LANES = 3                     # the car's lane is the nearest the kerb

# Linear reflectances (RGB) [assumption: typical materials; the infrared stage mixes them].
ASPHALT = (0.10, 0.10, 0.10)
LINE_PAINT = (0.60, 0.60, 0.58)
PAVEMENT = (0.22, 0.21, 0.20)
SKY = (0.80, 0.82, 0.88)

#: Face canvas mask around the eye midpoint, in inter-eye distances: head ellipse (semi-axes,
#: centre below the eyes), neck below it (half-width), and the soft edge's width.
HEAD_SEMI_AXES_IED = (1.35, 1.75)
HEAD_CENTRE_BELOW_EYES_IED = 0.15
NECK_HALF_WIDTH_IED = 0.65
MASK_EDGE_IED = 0.3


@dataclass(frozen=True)
class SceneOptions:
    """Occlusions of the road scene (both off by default)."""

    sun_visor: bool = False
    a_pillar: bool = False

    def occlusions(self) -> list[str]:
        """The occlusions switched on, in words (``["sun visor", "a pillar"]``)."""
        return [name.replace("_", " ") for name, on in asdict(self).items() if on]


def windscreen_transmission(profile: CameraProfile) -> float:
    """The windscreen's transmission in the camera's band (infrared or visible)."""
    if profile.spectral_mode == "infrared":
        return profile.windscreen_transmission_ir
    return profile.windscreen_transmission_visible


def fresnel_reflectance(cos_incidence: np.ndarray, index: float = GLASS_INDEX) -> np.ndarray:
    """Reflectance of one air-glass surface for unpolarised light (Fresnel equations)."""
    cos_i = np.clip(np.abs(cos_incidence), 1e-6, 1.0)
    cos_t = np.sqrt(1.0 - (1.0 - cos_i**2) / index**2)
    r_s = ((cos_i - index * cos_t) / (cos_i + index * cos_t)) ** 2
    r_p = ((cos_t - index * cos_i) / (cos_t + index * cos_i)) ** 2
    return (r_s + r_p) / 2.0


def _visible(part: car.Part, axes: geometry.CameraAxes, car_centre_m: np.ndarray) -> bool:
    """Whether a body face turns towards the camera (cabin parts and lines always draw)."""
    if part.layer != "exterior":
        return True
    c = part.corners_m
    normal = np.cross(c[1] - c[0], c[2] - c[0])
    centroid = c.mean(axis=0)
    if np.dot(normal, centroid - car_centre_m) < 0:   # orient outwards
        normal = -normal
    return float(np.dot(normal, axes.position_m - centroid)) > 0.0


def _pixels(profile: CameraProfile, axes: geometry.CameraAxes, corners_m: np.ndarray) -> list[tuple[float, float]]:
    """Image positions of points in front of the camera (:func:`geometry.image_points`)."""
    x, y, _ = geometry.image_points(profile, axes, corners_m)
    return [(float(a), float(b)) for a, b in zip(x, y, strict=True)]


def _pixel_rays(profile: CameraProfile, axes: geometry.CameraAxes) -> np.ndarray:
    """``(H, W, 3)`` direction (not unit) of each pixel centre's ray, road coordinates."""
    height, width = profile.sensor_height_px, profile.sensor_width_px
    f = profile.focal_length_px
    xs = (np.arange(width) + 0.5 - width / 2.0) / f
    ys = (np.arange(height) + 0.5 - height / 2.0) / f
    return axes.forward + xs[None, :, None] * axes.right + ys[:, None, None] * axes.down


def _road(profile: CameraProfile, axes: geometry.CameraAxes, lane_centre_y_m: float) -> np.ndarray:
    """The ground (and sky) behind everything: ``(H, W, 3)`` linear reflectance."""
    ray = _pixel_rays(profile, axes)
    height, width = ray.shape[:2]
    down = ray[..., 2] < -1e-9
    t = np.where(down, -axes.position_m[2] / np.where(down, ray[..., 2], -1.0), 0.0)
    along, across = t * ray[..., 0], t * ray[..., 1]
    rgb = np.empty((height, width, 3))
    rgb[:] = ASPHALT
    texture = np.random.default_rng(0).normal(1.0, 0.12, (height, width))   # fixed: one road
    rgb *= texture[..., None]
    lane = (across - lane_centre_y_m) / LANE_WIDTH_M
    near_kerb = lane_centre_y_m - LANE_WIDTH_M / 2.0
    far_kerb = near_kerb + LANES * LANE_WIDTH_M
    dashed = (np.abs(lane - np.round(lane - 0.5) - 0.5) * LANE_WIDTH_M < LINE_WIDTH_M / 2.0) & (
        np.mod(along, sum(DASH_M)) < DASH_M[0]) & (across > near_kerb + 1.0) & (across < far_kerb - 1.0)
    edge = (np.abs(across - (near_kerb + 0.25)) < LINE_WIDTH_M) | (np.abs(across - (far_kerb - 0.25)) < LINE_WIDTH_M)
    rgb[dashed | edge] = LINE_PAINT
    rgb[(across < near_kerb) | (across > far_kerb)] = PAVEMENT
    if profile.spectral_mode == "infrared":
        # Lit by the camera's own flash: irradiance falls as 1 / range^2, the face's at its range.
        range_m = t * np.linalg.norm(ray, axis=-1)
        face_range_m = np.linalg.norm(geometry.eye_point_m(profile) - axes.position_m)
        rgb *= (face_range_m / np.maximum(range_m, 1e-3))[..., None] ** 2
    rgb[~down] = SKY
    return rgb


def _draw(canvas: list[Image.Image], alpha: Image.Image | None, part: car.Part, points: list[tuple[float, float]],
          px_per_m: float) -> None:
    """Draw ``part`` into each channel of ``canvas`` (its reflectance) and into ``alpha`` (255)."""
    targets = [(channel, float(value)) for channel, value in zip(canvas, part.rgb, strict=True)]
    for image, fill in targets + ([(alpha, 255)] if alpha is not None else []):
        draw = ImageDraw.Draw(image)
        if part.line_m is None:
            draw.polygon(points, fill=fill)
        else:
            draw.line(points, fill=fill, width=max(1, round(part.line_m * px_per_m)), joint="curve")


def _plate_text(rgb: np.ndarray, points: list[tuple[float, float]]) -> None:
    """Dark characters across the plate's projected box (drawn in place, ``rgb (H, W, 3)``)."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, y0, x1, y1 = min(xs), min(ys), max(xs), max(ys)
    height = y1 - y0
    if height < 4:
        return
    mask = Image.new("L", (rgb.shape[1], rgb.shape[0]), 0)
    font = ImageFont.load_default(size=max(4.0, 0.8 * height))
    draw = ImageDraw.Draw(mask)
    draw.text(((x0 + x1) / 2, (y0 + y1) / 2), "AB12 CDE", fill=255, font=font, anchor="mm")
    ink = np.asarray(mask, dtype=np.float64)[..., None] / 255.0
    rgb[:] = rgb * (1.0 - ink) + np.array(car.TRIM) * ink


def _head_mask(side: int, eyes_px: torch.Tensor, ied_px: float) -> torch.Tensor:
    """Soft head-and-neck mask ``(B, 1, S, S)`` in [0, 1] around each canvas's eye midpoint."""
    grid = torch.arange(side, dtype=eyes_px.dtype, device=eyes_px.device) + 0.5
    x = grid[None, None, :] - eyes_px[:, 0, None, None]
    y = grid[None, :, None] - eyes_px[:, 1, None, None]
    a, b = HEAD_SEMI_AXES_IED
    head = 1.0 - torch.sqrt((x / (a * ied_px)) ** 2 + ((y - HEAD_CENTRE_BELOW_EYES_IED * ied_px) / (b * ied_px)) ** 2)
    neck = torch.minimum(NECK_HALF_WIDTH_IED - x.abs() / ied_px, (y / ied_px - 1.0).expand_as(head))
    inside = torch.maximum(head * min(a, b), neck)   # signed distance, roughly, in IED
    border = torch.minimum(grid, side - grid) / ied_px   # fade out before the canvas's edges
    inside = torch.minimum(inside, torch.minimum(border[None, :, None], border[None, None, :]) - MASK_EDGE_IED / 2)
    return (inside / MASK_EDGE_IED + 0.5).clamp(0.0, 1.0)[:, None]


def render(canvases: torch.Tensor, eyes_px: torch.Tensor, centre_px: tuple[float, float],
           profile: CameraProfile, *, ied_px: float, options: SceneOptions) -> tuple[torch.Tensor, tuple[int, int]]:
    """The road scene with the face canvases seen through the windscreen.

    Parameters
    ----------
    canvases : Tensor (B, 3, S, S)
        Face canvases, linear reflectance in [0, 1], at the face's scale.
    eyes_px : Tensor (B, 2)
        Each canvas's eye midpoint (x, y), canvas pixels: the head mask's centre.
    centre_px : (float, float)
        Frame position (x, y) of the canvases' centre, as :func:`frame.place_in_frame` takes it.
    profile : CameraProfile
    ied_px : float
        Inter-eye distance in the canvases, pixels.
    options : SceneOptions

    Returns
    -------
    frames : Tensor (B, 3, H, W)
        Linear reflectance relative to the unglazed white (the sensor's white level without the
        windscreen); values can exceed 1 only where the sensor clips anyway.
    corner : (int, int)
        Frame position (x, y) of the canvases' top-left corner.
    """
    height, width = profile.sensor_height_px, profile.sensor_width_px
    axes = geometry.camera_axes(profile)
    geo = geometry.derive_geometry(profile)
    model = car.build(profile, sun_visor=options.sun_visor, a_pillar=options.a_pillar)
    parts = model.parts

    # The lane is where the driver sits; the A-pillar option moves the car within it.
    exterior = _road(profile, axes, profile.lateral_offset_m - car.DRIVER_OFFSET_M)
    layers = {name: [Image.new("F", (width, height), value) for value in fill]
              for name, fill in (("cabin_back", car.INTERIOR), ("cabin_front", car.INTERIOR))}
    layers["exterior"] = [Image.fromarray(np.ascontiguousarray(exterior[..., c], dtype=np.float32)) for c in range(3)]
    layers["ground"] = layers["exterior"]
    front_alpha = Image.new("L", (width, height), 0)
    glass = Image.new("L", (width, height), 0)
    plate_points = None
    visible = [p for p in parts if _visible(p, axes, model.centre_m)]
    exterior_parts = sorted((p for p in visible if p.layer == "exterior" and p.name in ("side", "side window", "roof")),
                            key=lambda p: -float(np.linalg.norm(p.corners_m.mean(0) - axes.position_m)))
    ground = [p for p in visible if p.layer == "ground"]
    ordered = ground + exterior_parts + [p for p in visible if p not in exterior_parts + ground]
    for part in ordered:
        points = _pixels(profile, axes, part.corners_m)
        if part.layer == "glass":
            ImageDraw.Draw(glass).polygon(points, fill=255)
            continue
        _draw(layers[part.layer], front_alpha if part.layer == "cabin_front" else None, part, points, geo.px_per_m)
        if part.name == "plate":
            plate_points = points

    def stacked(channels: list[Image.Image]) -> np.ndarray:
        return np.stack([np.asarray(c, dtype=np.float64) for c in channels], axis=-1)

    outside = stacked(layers["exterior"])
    if plate_points is not None:
        _plate_text(outside, plate_points)

    def as_tensor(array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1))).to(canvases)

    cabin = as_tensor(stacked(layers["cabin_back"]))[None].repeat(canvases.shape[0], 1, 1, 1)
    side = canvases.shape[-1]
    corner = frame.canvas_corner(centre_px, side)
    window = frame.window(corner, side, (height, width))
    if window is not None:
        (fy, fx), (cy, cx) = window
        alpha = _head_mask(side, eyes_px, ied_px)[..., cy, cx]
        cabin[..., fy, fx] = alpha * canvases[..., cy, cx] + (1.0 - alpha) * cabin[..., fy, fx]
    front = as_tensor(stacked(layers["cabin_front"]))
    front_a = torch.from_numpy(np.asarray(front_alpha, dtype=np.float32) / 255.0).to(canvases)
    cabin = front_a * front + (1.0 - front_a) * cabin

    transmission = windscreen_transmission(profile)
    glare = profile.veiling_glare_ratio * transmission * _glare_shape(profile, axes, parts)
    glass_a = torch.from_numpy(np.asarray(glass, dtype=np.float32) / 255.0).to(canvases)
    frames = glass_a * (transmission * cabin + as_tensor(glare[..., None])) + (1.0 - glass_a) * as_tensor(outside)
    return frames, corner


def _glare_shape(profile: CameraProfile, axes: geometry.CameraAxes, parts: list[car.Part]) -> np.ndarray:
    """``(H, W)``: Fresnel reflectance of the glass at each pixel's incidence, 1 at the eyes."""
    (glass,) = [p for p in parts if p.layer == "glass"]
    c = glass.corners_m
    normal = np.cross(c[1] - c[0], c[3] - c[0])
    normal /= np.linalg.norm(normal)
    ray = _pixel_rays(profile, axes)
    cos_i = (ray @ normal) / np.linalg.norm(ray, axis=-1)
    eye_ray = geometry.eye_point_m(profile) - axes.position_m
    at_eyes = fresnel_reflectance(np.array([eye_ray @ normal / np.linalg.norm(eye_ray)]))[0]
    return fresnel_reflectance(cos_i) / at_eyes
