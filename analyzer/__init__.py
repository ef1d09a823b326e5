"""Log parsers, diagnostics and reports for GPT training runs (no torch needed)."""
