"""Streamlit pages of the dashboard (render only; the logic lives in app.logic)."""
