"""reidlab's Streamlit lab: ``streamlit run app.py``.

This file only routes: ``st.navigation`` lists the Home page and the pages of
``app_pages/`` (titles and order from :data:`reidlab.app_support.PAGES`); each page is one file
that reads run stores and calls package functions. The folder is not called ``pages/``:
Streamlit also reads a ``pages/`` folder as its older multipage app, and on a fresh server the
first visit to a page's own URL then showed that navigation (an extra "app" entry, no icons).
"""

import streamlit as st

from reidlab import app_support as ui

st.navigation(ui.navigation_pages()).run()
