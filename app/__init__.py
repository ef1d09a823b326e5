"""The gptscope live dashboard (Streamlit) and its launcher."""
