"""Every figure builder and the style in one namespace, as the app pages, the export command
(:mod:`reidlab.viz.cli_export`) and bench scripts use them (``from reidlab.viz import figures as
F``; ``F.rank_list_figure``, ``F.Style``, …).

Nothing is defined here; each name lives in its own module, where library code and tests import
it from:

- :mod:`reidlab.viz.style` — palettes, one meaning per colour, the vocabulary, :class:`Style`,
  :func:`apply_style`, :func:`restyle`;
- :mod:`reidlab.viz.images` — image utilities (uint8, PNG data URIs, borders, thumbnail strips);
- :mod:`reidlab.viz.embeddings` — 2-D embeddings by camera / identity / pseudo label;
- :mod:`reidlab.viz.curves` — training curves, ablations, label quality, tracklet counts;
- :mod:`reidlab.viz.camera_gap` — camera-pair heat maps, gap bars, distance histograms;
- :mod:`reidlab.viz.image_figures` — rank lists, part masks, frame strips, thumbnail grids.
"""

from reidlab.viz import camera_gap, curves, embeddings, image_figures, images, style
from reidlab.viz.camera_gap import *  # noqa: F403
from reidlab.viz.curves import *  # noqa: F403
from reidlab.viz.embeddings import *  # noqa: F403
from reidlab.viz.image_figures import *  # noqa: F403
from reidlab.viz.images import *  # noqa: F403
from reidlab.viz.style import *  # noqa: F403

__all__ = [name for module in (style, images, embeddings, curves, camera_gap, image_figures)
           for name in module.__all__]
