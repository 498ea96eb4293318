"""What sits around the pipeline: the privacy audit, headless notebook runs, the workshop helpers,
the live view, reset and spark-submit (the figures and the dashboard are in ``analysis``; the
benchmark is in ``bench/``, out of the package).
"""
