"""The engine's version: part of every run's identity.

Terms
-----
ENGINE_VERSION
    Changes whenever the same document and seed could give different output (frames or
    summary): a new semantic rule, a changed random stream, a different rounding. A stored run
    records it; a worker with another version does not replay that run; the golden-output test
    (tests/engine/test_golden.py) fails when output changes and this does not.
"""

ENGINE_VERSION = "1.7"
