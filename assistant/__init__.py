"""The CAR-T service assistant: answers from approved documents only, with citations.

Pipeline stages, one module each: loading -> chunking -> embedding -> indexing (store)
-> retrieval -> triage / answering -> chain. `settings` is read once; `errors` holds the
user-facing errors.
"""

__version__ = "0.1.0"
