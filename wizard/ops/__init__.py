"""Operations: the health check for load balancers and the Prometheus metrics."""
