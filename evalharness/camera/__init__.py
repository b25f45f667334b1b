"""The physically parameterised ANPR camera model: a face photograph in, the stored image out.

Modules, in pipeline order: :mod:`geometry` (pixels on the face), :mod:`resample`,
:mod:`spectral` (infrared mix or Bayer mosaic), :mod:`optics` (lens MTF), :mod:`motion`,
:mod:`sensor` (light, noise, quantisation), :mod:`codec` (interlacing, JPEG), :mod:`frame`
(full-frame placement); :mod:`simulate` composes them and :mod:`sfr` measures MTF50 from a
slanted edge. Nothing here knows about detectors or metrics.
"""

from evalharness.camera.geometry import Geometry, derive_geometry, dori_class
from evalharness.camera.simulate import Capture, derive, simulate

__all__ = ["Capture", "Geometry", "derive", "derive_geometry", "dori_class", "simulate"]
