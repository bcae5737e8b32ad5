"""Measurements of the dashboard against the real test services (``make benchmark``)."""
