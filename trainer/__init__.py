"""gptscope's GPT trainer: `python -m trainer run` trains, `prepare` tokenizes text, `sample`
prints text from a checkpoint. The library entry point is ``trainer.train.train``."""
