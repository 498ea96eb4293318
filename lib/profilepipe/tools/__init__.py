"""What sits around the pipeline: the privacy audit, figures, headless notebook runs, the
workshop helpers, the live view and dashboard, reset and spark-submit (the benchmark is in
``bench/``, out of the package).
"""
