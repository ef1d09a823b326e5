"""gptscope: shared pieces of the trainer, analyzer and dashboard (stdlib only)."""
__version__ = "0.1.0"
