"""What only the book's chapters need: comparisons, sweeps, timings, size tables, figures.

This room imports the library (``lateint``); the library never imports it (a test
checks). In the order the chapters use them:

- ``compare``: BM25, dense and late interaction side by side; failure cases (chapters 1, 2).
- ``plots``: every figure; drawing only, numbers come in as arguments.
- ``explorer``: the token explorer, one view fed by the kernel in Jupyter and by the
  reader's browser on the static page (ONNX encoder, int8 codes; chapter 2).
- ``speed``: index sweeps, the fastest setting within a tolerance, corpus scaling, the
  MS MARCO extrapolation, and an engine's agreement with exact MaxSim (chapter 3).
- ``size``: bytes per token and quality for each storage (chapter 4).
- ``augmentation``: query augmentation with [MASK] tokens, swept and inspected (chapter 5).
- ``published``: figures from papers that chapters set beside their own, with sources.
- ``records``: results of benches too long for a page build (``bench/``), with their provenance
  (chapters 2b, 5).
- ``report``: HTML tables (best values marked, long ones folded), glue of many values, page timing.
"""
