"""The read side: what may be published of the stream's results and how it is shown.

Disclosure control (``disclosure``, and ``disclosure.read_aggregates``, the one reader of what may
be published), what each figure draws (``figure_data``) and the figures (``plots``), the live
dashboard (``dashboard``) and the Kafka lag (``lag``). It reads the stores and pipeline's pure
modules; the pipeline imports nothing from here (``tests/unit/test_layering.py``).
"""
