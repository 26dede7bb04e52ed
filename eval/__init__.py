"""Evaluation of the assistant on golden cases: `python -m eval run` (see eval/__main__.py).

Modules, one per step: `cases` (load and validate eval/golden/*.yaml), `metrics` (pure
scoring), `runner` (run the cases through the assistant, the gate), `report` (the HTML
report), `feedback_cases` (draft cases from "not helpful" feedback).
"""
