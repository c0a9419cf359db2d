"""freezer-dr: compute-node high availability for OpenStack."""
