"""Tsunagu's Streamlit front end: thin pages over ``engine`` and ``storage``."""
