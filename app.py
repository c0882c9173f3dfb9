"""reidlab's Streamlit lab: ``streamlit run app.py``.

This file only routes: ``st.navigation`` lists the Home page and the eight pages of
``pages/`` (titles and order from :data:`reidlab.app_support.PAGES`); each page is one file
that reads run stores and calls package functions.
"""

import streamlit as st

from reidlab import app_support as ui

st.navigation(ui.navigation_pages()).run()
