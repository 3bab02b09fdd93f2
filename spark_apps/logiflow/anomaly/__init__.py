"""Streaming anomaly detection: baselines per service and endpoint, judged each minute."""
