"""reidlab — a lab bench for camera-aware person re-identification.

The package does all the work; ``app.py`` and ``app_pages/`` are a Streamlit front end over it.
Data flows one way: ``data`` → ``models`` + ``losses`` (assembled by ``methods``) → ``engine``
→ run store on disk → ``eval`` / ``analysis`` → ``viz``.
"""

__version__ = "0.1.0"
