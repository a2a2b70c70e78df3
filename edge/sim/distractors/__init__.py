"""Simulated distractors: what a meteor camera sees that is not a meteor.

Satellites, aircraft, clouds, insects on the lens, the Moon and its scattered light, and hot
pixels. Each (but hot pixels, which live in the sensor) is a `Layer` of `edge.sim.render`:
`prepare` is called once per camera with every frame's true mid-exposure time, `draw` adds one
frame's light to a `Canvas` and returns that frame's truth (a list of dicts, one per thing seen).

Objects that exist in the world (satellites, aircraft, clouds) are defined once in Earth-fixed
coordinates and projected by every camera from its own place, so two stations see one satellite
with the parallax of its height. Insects belong to one camera's lens.

Photometry: magnitudes are V; above-atmosphere magnitudes are dimmed by k = 0.25 mag per airmass
(Kasten & Young 1989 airmass) and turned into photo-electrons with `CameraProfile.electrons`.
Moving point sources are smeared over the exposure: their position is sampled at N sub-times,
consecutive samples under 0.5 px apart, each with 1/N of the light.
Moonlight on the sky follows Krisciunas & Schaefer (1991, PASP 103, 1033).

The factory `build_distractor_layers` turns a `DistractorsConfig` into layers for a clip and
places satellites and aircraft so that each crosses the field of at least one camera.
"""

from __future__ import annotations

from edge.photometry.extinction import airmass, extincted_mag
from edge.sim.distractors.aircraft import Aircraft, AircraftLayer, Light, standard_lights
from edge.sim.distractors.clouds import CloudLayer
from edge.sim.distractors.factory import DistractorsConfig, build_distractor_layers
from edge.sim.distractors.hot_pixels import hot_pixels_for
from edge.sim.distractors.insects import InsectLayer
from edge.sim.distractors.moon import MoonLayer, ks_moon_sky_nl, moon_vmag, nl_to_mag_arcsec2
from edge.sim.distractors.satellites import Satellite, SatelliteLayer

__all__ = [
    "Aircraft",
    "AircraftLayer",
    "CloudLayer",
    "DistractorsConfig",
    "InsectLayer",
    "Light",
    "MoonLayer",
    "Satellite",
    "SatelliteLayer",
    "airmass",
    "build_distractor_layers",
    "extincted_mag",
    "hot_pixels_for",
    "ks_moon_sky_nl",
    "moon_vmag",
    "nl_to_mag_arcsec2",
    "standard_lights",
]
