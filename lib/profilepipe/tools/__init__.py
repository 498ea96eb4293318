"""What sits around the pipeline: the privacy audit, the benchmark, figures, headless notebook
runs, the workshop helpers, the live view and dashboard.
"""
