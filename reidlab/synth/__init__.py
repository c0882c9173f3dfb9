"""SynthCams: the embedded default dataset, a synthetic multi-camera video re-ID dataset.

``generate(out, cfg)`` writes it in the real MARS layout, so the MARS reader loads it
unchanged::

    bbox_train/<pid4>/<pid4>C<c>T<t4>F<f3>.jpg      bbox_test/...
    info/train_name.txt   info/test_name.txt         (one frame name per line)
    info/tracks_train_info.mat  (track_train_info: N×4 start,end,pid,cam; 1-based, inclusive)
    info/tracks_test_info.mat   (track_test_info)
    info/query_IDX.mat          (query_IDX: 1×Q, 1-based rows of the test table)

Train and test identities are disjoint. Each identity walks past a random subset (≥ 2) of the
cameras, with one or more tracklets per camera. Queries follow MARS: for each test identity one
query tracklet per camera it is queried from; the cameras are chosen so that every query keeps a
cross-camera match in the gallery even when the query tracks are removed from it (torchreid
protocol). A few distractor tracklets (pid 0) are added to the test gallery.

Same seed → byte-identical files: every tracklet draws from its own seeded generator, JPEGs
carry no metadata, and the MAT-file text header (which scipy stamps with the time) is fixed.

The package's modules, in the order a dataset is made: :mod:`~reidlab.synth.config` (the
settings, default folders and calibration knobs), :mod:`~reidlab.synth.planning` (people,
cameras and tracklets drawn from the seed), :mod:`~reidlab.synth.render` (a tracklet's frames:
the scene, :mod:`~reidlab.synth.person` on a :mod:`~reidlab.synth.canvas`, the camera's
imaging; the parameters are the dataclasses of :mod:`~reidlab.synth.specs`),
:mod:`~reidlab.synth.writing` (the files) and :mod:`~reidlab.synth.cli` (``python -m reidlab
synth``). The names below are importable from the package itself (``from reidlab import
synth``; ``synth.generate(...)``).

A completion marker (``SYNTHCAMS_COMPLETE.json``) is written last: ``ensure_default`` regenerates a
folder without it (a killed generation is redone, never half-read). SynthCams sits above
``reidlab.data`` (it writes what the readers there read) and nothing in ``data`` imports it.

``SynthConfig.style`` picks the domain: "a" (the default, outdoor-like street cameras) or "b", a
second domain for unsupervised domain adaptation (indoor/airport-like cameras: ``CALIBRATION_B``,
and other people: travellers in muted clothes, coats, rolling suitcases, drawn from another
random stream, so no style-b person is a style-a person even at the same seed).
``ensure_domain_b()`` writes it to ``data/synthcams_b``.

``SynthConfig.infrared`` makes the infrared ↔ colour SynthCams: six cameras of which cam3 and
cam6 are thermal (temperatures, one channel replicated to three, body warmer than the scene, no
clothing colour, their own sensor noise; :func:`reidlab.synth.render.thermal_person`), as
SYSU-MM01's 4 colour + 2 infrared, written in the real SYSU-MM01 layout
(``cam<c>/<pid4>/<img4>.jpg``, ``exp/{train,val,test}_id.txt``) so that the default path exercises
the SYSU-MM01 reader. Every person is seen by at least one infrared and one indoor colour camera
(cam1 or cam2); people are drawn from their own random stream. ``ensure_infrared()`` writes it
to ``data/synthcams_ir``. A thermal render keeps little of a person: 44 of the 100 default test
identities are told apart only by build (``render.thermal_look``).
``SynthConfig.infrared_kind="nir"`` renders cam3 and cam6 as actively lit *near-infrared*
cameras instead — what SYSU-MM01's infrared cameras are: one grey level per garment from its
NIR reflectance (partly its luminance, partly a fixed function of its colour;
:func:`reidlab.synth.render.nir_person`), so identity survives without colour. Same people,
cameras and tracklets as the thermal one; ``ensure_infrared(kind="nir")`` or ``reidlab synth
--infrared --infrared-kind nir`` writes it to ``data/synthcams_nir``.

``SynthConfig.gap`` (in [0, 1]) is one knob for the whole camera gap: 1 (the default) is the
SynthCams above, frame for frame; 0 gives every camera the same scene, imaging, viewpoint habit
and framing, so that only the person (and per-tracklet chance) tells tracklets apart. Its four
parts (``GAP_PARTS``) can be set apart with ``gap_parts`` ("background=1,imaging=0"):
*background* — the scene drawn is a blend of the camera's own and camera 1's (the shared scene),
and the occlusion rate and occluder colour move to the cameras' common values; *imaging* — the
colour cast, gain, contrast, gamma, saturation, resolution loss, blur, noise and haze move to a
neutral camera (multiplied with the older ``domain_gap``, which scales the same things);
*viewpoint* — the probability of a camera's usual viewpoint moves from 0.85 to 0.25 (no habit);
*framing* — person size and position in the frame move to the cameras' mean. Every random draw
is made as at gap 1 and the values are then moved, so a gap level changes the cameras and
nothing else (same people, tracklets, viewpoints' random stream and file names).
"""

from __future__ import annotations

from reidlab.errors import ConfigError  # what a bad SynthConfig raises
from reidlab.synth.config import (CALIBRATION, CALIBRATION_B, DEFAULT_ROOT, DOMAIN_B_ROOT,
                                  FORMAT_VERSION, GAP_PARTS, INFRARED_CAMS, INFRARED_KINDS,
                                  INFRARED_ROOT, INFRARED_ROOTS, MARKER, MAT_HEADER, NIR_ROOT,
                                  STREAMS, STYLES, Progress, SynthConfig, TrackRecord)
from reidlab.synth.planning import (camera_record, choose_queries, plan, plan_infrared,
                                    sample_cameras, sample_cameras_b, sample_person,
                                    sample_person_b)
from reidlab.synth.writing import (default_out, ensure_default, ensure_domain_b, ensure_infrared,
                                   generate, generate_infrared, is_complete, write_mat)

__all__ = [
    "ConfigError", "CALIBRATION", "CALIBRATION_B", "DEFAULT_ROOT", "DOMAIN_B_ROOT",
    "FORMAT_VERSION", "GAP_PARTS", "INFRARED_CAMS", "INFRARED_KINDS", "INFRARED_ROOT",
    "INFRARED_ROOTS", "MARKER", "MAT_HEADER", "NIR_ROOT", "STREAMS", "STYLES", "Progress",
    "SynthConfig", "TrackRecord", "default_out", "ensure_default", "ensure_domain_b",
    "ensure_infrared", "generate", "generate_infrared", "is_complete", "write_mat",
    "camera_record", "choose_queries", "plan", "plan_infrared", "sample_cameras",
    "sample_cameras_b", "sample_person", "sample_person_b",
]
