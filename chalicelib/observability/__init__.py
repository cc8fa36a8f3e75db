"""What the gateway says about itself: JSON log lines, Prometheus metrics (or CloudWatch EMF on
Lambda) and OpenTelemetry spans, all built from a call's record once it has settled."""
