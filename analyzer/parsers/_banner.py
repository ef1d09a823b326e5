"""Lines that look like the start of a run, in any trainer's wording.

A file may hold several runs launched one after another (seeds in a loop, a benchmark of
settings), each announced by lines that no format parser knows: a banner of settings
(``MY-NANOCHAT FA3=True FP8=False``), the command that started it, a seed, a parameter count,
a config echo (``n_layer = 12``). One such line proves nothing (prose and debug output look
alike), so ``StdoutParser`` only uses it together with the data: a step that does not
advance after it starts a new run rather than a resume. Pure functions, no state.
"""
from __future__ import annotations

import re

# 'model_params:25517137', 'num_parameters: 124475904 => bytes: ...', 'Total params: 1.2M',
# 'Number of parameters: 124.44M', '# The number of parameters in the model: 1208385',
# 'Parameters: 123.9M', '    Model parameters: 124.44M' (in a
# summary block), 'model #params: 9481' (makemore), '- params: total=173,455,906,
# non_embedding=...' (a bullet list: the total, never a part); in Chinese '模型参数量: 30.55M',
# '模型参数总量: 10,738,229', '总参数量：1.2M', 'LLM总参数量：25.830 百万' (minimind: in millions;
# also 'LLM可训练总参数量：', '所加载Model可训练参数：', 'The total number of parameters in the
# YuanMeng model is: 25.830 million')
# (parameter count, full-width colon too); minGPT's 'number of parameters: 9.590272e+06'
_PARAMS = re.compile(r"(?:model[_ ]param(?:eter)?s|num[_ ]param(?:eter)?s|n[_ ]params|total[_ ]"
                     r"param(?:eter)?s|"
                     r"(?:the )?(?:total )?number (?:of )?(?:model )?param(?:eter)?s"
                     r"(?: in (?:the )?(?:[\w-]+ )?model)?(?: is)?|param(?:eter)?[ _]?count|"
                     r"(?:model )?#\s*params|param(?:eter)?s|"
                     r"(?:LLM\s*|所加载Model)?(?:可训练总?参数量?|(?:模型|总)?参数(?:总|数)?量))"
                     r"\s*[:=：]\s*(?:total\s*=\s*)?"
                     r"(\d[\d,]*(?:\.\d+)?(?:e\+?\d+)?)\s*([KMB]\b|billion\b|million\b|百万|万|亿)?",
                     re.IGNORECASE)
# the count before the word: '13443137 parameters' (a Scala port), '1.5M trainable parameters',
# 'model: 6.52M params (4.43M non-embedding)';
# not when a word follows ('12 parameters were frozen')
_PARAMS_FIRST = re.compile(r"(?:model\s*:\s*)?(\d[\d,]*(?:\.\d+)?)\s*([KMB])?\s+(?:trainable\s+)?"
                           r"param(?:eter)?s\b(?!\s+[a-z])", re.IGNORECASE)
# a model's count in a sentence ('Model built with 18.86M parameters') or with no colon
# ('Total parameters 2,779,683,840', litgpt): only ending the line, after the model's word or
# a total's (nanoGPT's 'num decayed parameter tensors: 26, with 10,740,096 parameters' is a
# part of the model, never its count), also after another figure ('Effective Tera Flops per
# GPU: 41.31 and total parameters 52.005 B', Megatron-DeepSpeed's throughput line)
_PARAMS_SENTENCE = re.compile(r"(?:model\b[^:=]{0,40}?\bwith|(?:.{0,80}?\band )?"
                              r"total param(?:eter)?s)\s+"
                              r"(\d[\d,]*(?:\.\d+)?)\s*([KMB])?(?:\s+param(?:eter)?s)?\s*$",
                              re.IGNORECASE)
# torchtitan's 'Model llama3 8B size: 8,030,261,248 total parameters', a lecture fork's 'Model
# size is 10.788929 M paramaters' (the word 'parameters', however spelt, is needed: 'model vocab
# size: 50304' is no count)
_SIZE_PARAMS = re.compile(r"model\b[^:=]{0,60}?size\s*(?::|\bis\b)\s*(\d[\d,]*(?:\.\d+)?)\s*"
                          r"([KMB])?\s+(?:total\s+)?param(?:[ea]ter)?s\s*$", re.IGNORECASE)
# Megatron-LM's 'Total number of parameters in billions: 6.44' (the unit in the words)
_PARAMS_IN_UNITS = re.compile(r"(?:the )?total number of param(?:eter)?s in (billions|millions)"
                              r"\s*:\s*(\d+(?:\.\d+)?)\s*$", re.IGNORECASE)
# PEFT's print_trainable_parameters() (LoRA fine-tunes): 'trainable params: 1,949,696 || all
# params: 6,245,533,696 || trainable%: 0.0312': the model's count is all of them
_PEFT = re.compile(r"trainable params\s*:\s*[\d,]+\s*\|\|\s*all params\s*:\s*(\d[\d,]*)()",
                   re.IGNORECASE)
# Unsloth's banner, after its ASCII art: 'Trainable parameters = 50,462,720 of 1,150,511,104
# (4.39% trained)': the model's count is the second
_UNSLOTH = re.compile(r".{0,40}?\btrainable parameters\s*=\s*[\d,]+\s+of\s+(\d[\d,]*)()",
                      re.IGNORECASE)
# all of the model's tensors, in the wording of nanoGPT's configure_optimizers ('num parameter
# tensors: 62, with 356,464 parameters', a fork's total before its 'num decayed …' parts)
_ALL_TENSORS = re.compile(r"num parameter tensors\s*:\s*\d+,\s*with\s+(\d[\d,]*)()\s+"
                          r"param(?:eter)?s\s*$", re.IGNORECASE)
# 'size of model 1294480', 'size of model (intrinsic dimensions adapted): 503440': only a bare
# number ending the line ('size of model: 124 MB' is bytes)
_MODEL_SIZE = re.compile(r"size of (?:the )?model(?: \([^)]*\))?\s*[:=]?\s*(\d[\d,]*)()\s*$",
                         re.IGNORECASE)
# 'Model Size:    162.20M' (a modded-nanogpt fork): a count only with decimals and its K/M/B
# suffix ending the line ('model size: 124 MB' is bytes, 'model size: 768' a width, 'Model
# size: 350M' the name of a preset)
_SIZE_SUFFIX = re.compile(r"model size\s*[:=]\s*(\d+\.\d+)\s*([KMB])\s*$", re.IGNORECASE)
# what may come before the count's wording: indentation, a list bullet, a comment's '# ', the
# C function printing it (llama.cpp's 'llm_load_print_meta: model params     = 8.03 B')
_LEAD = re.compile(r"\s*(?:[-*•#]\s+)?(?:[a-z][a-z0-9]*(?:_[a-z0-9]+)+:\s+(?=[A-Za-z]))?")
_SCALE = {"K": 1e3, "M": 1e6, "B": 1e9, "BILLION": 1e9, "MILLION": 1e6, "百万": 1e6, "万": 1e4,
          "亿": 1e8}
# the command that started the run: 'python train.py config/x.py --device=cpu', 'python -m
# scripts.base_train --depth=12', 'torchrun --nproc_per_node=8 train_gpt.py'; a script's name
# followed by ':LINE' is a source location in a warning ('(/workspace/train_qat.py:175)'), no
# command
COMMAND = re.compile(r"(?:^|[\s/])\w[\w.-]*\.py\b(?!:\d)|\bpython[\d.]*\s+-m\s+\w|^\s*(?:\$\s*)?"
                     r"(?:torchrun|deepspeed|accelerate\s+launch|mpirun|srun)\s")
ARG = re.compile(r"(?:^|\s)--(\w+)[= ]([^\s-][^\s]*|-\d\S*)")
# 'seed: 42', 'Using seed=1', 'Seed set to 1337', 'SEED 3'
_SEED = re.compile(r"\bseed(?:\s+set\s+to)?\s*[:=]?\s*\d+\b", re.IGNORECASE)
# one 'KEY=VALUE' word of a settings banner (not '==' nor a bare '=')
_SETTING = re.compile(r"[A-Za-z_][\w.-]*=[^\s=]+")
# a config echo line: 'batch_size = 12', 'n_layer: 12', "dataset = 'shakespeare_char'"
_ECHO = re.compile(r"\s*[A-Za-z_][\w.]*\s*[:=]\s*(?:[-+]?\d[\d_,]*\.?\d*(?:[eE][-+]?\d+)?|True|"
                   r"False|None|'[^']*'|\"[^\"]*\")\s*(?:#.*)?$")


# markdown around pasted output: a code fence, a heading ('### bf16', '## Run 2'), a GitHub
# alert ('[!NOTE]')
_MARKDOWN = re.compile(r"\s*(?:```|~~~|\[!(?:NOTE|TIP|IMPORTANT|WARNING|CAUTION)\])|#{1,6}\s+\S")
# a short caption introducing the next block: 'real data:', 'With the current master:'
_CAPTION = re.compile(r"[A-Za-z][\w ,'()/-]{0,80}:$")
# a shell prompt with a command: 'ubuntu@host:~$ python3 train.py', 'root@box:~/x# ...',
# '(venv) $ torchrun ...', 'PS C:\\work> python train.py'
PROMPT = re.compile(r"(?:\([\w.-]+\)\s*)?(?:[\w.-]+@[\w.-]+:\S*[$#]|\$|PS [^>]*>)\s+\S")


def paste_break(text: str) -> bool:
    """A line of the document a log was pasted into, between two blocks of output: a code
    fence, a markdown heading or alert, a short caption ending in a colon. Output that steps
    back after one is another paste (a comparison of runs, a benchmark of settings), not a
    resume of the run above it."""
    t = text.strip()
    return bool(_MARKDOWN.match(t) or (len(t.split()) <= 12 and _CAPTION.match(t)))


def is_launch(text: str) -> bool:
    """A shell prompt with a training command: whatever comes after is another launch."""
    return bool(PROMPT.match(text) and COMMAND.search(text))


def param_count(text: str) -> int | None:
    """The parameter count a line states, in any wording ('Total params: 1.5M' -> 1500000);
    None when it states none."""
    start = _LEAD.match(text).end()
    if (units := _PARAMS_IN_UNITS.match(text, start)) is not None:
        scale = 1e9 if units.group(1).lower() == "billions" else 1e6
        return round(float(units.group(2)) * scale)
    m = (_PARAMS.match(text, start) or _PARAMS_FIRST.match(text, start)
         or _MODEL_SIZE.match(text, start) or _PARAMS_SENTENCE.match(text, start)
         or _SIZE_PARAMS.match(text, start) or _PEFT.match(text, start)
         or _UNSLOTH.match(text, start) or _SIZE_SUFFIX.match(text, start)
         or _ALL_TENSORS.match(text, start))
    if m is None:
        return None
    n = float(m.group(1).replace(",", "")) * _SCALE.get((m.group(2) or "").upper(), 1)
    if m.re in (_PARAMS_FIRST, _PARAMS_SENTENCE, _SIZE_PARAMS, _SIZE_SUFFIX) and n < 1000:
        return None  # ('3 parameters' in prose is no model)
    return round(n) if n >= 1 else None


def is_command(text: str) -> bool:
    """A command line with ``--key=value`` settings (the run's configuration)."""
    return bool(COMMAND.search(text) and ARG.search(text))


def looks_like_run_header(text: str) -> bool:
    """A line that a new run typically prints before its first step (see the module
    docstring): a settings banner, a command, a seed, a parameter count, a config echo."""
    t = text.strip().strip("#=*-[]() ")
    if not t or len(t) > 300:  # a long line is output or prose, not a banner
        return False
    if _PARAMS.search(t) or COMMAND.search(t) or _SEED.search(t) or _ECHO.match(t):
        return True
    words = t.split()
    settings = sum(1 for w in words if _SETTING.fullmatch(w.strip(",;")))
    # a banner is mostly settings: 'MY-NANOCHAT FA3=True FP8=False', 'Using lr=0.02'
    return settings > 0 and len(words) <= 2 * settings + 1
