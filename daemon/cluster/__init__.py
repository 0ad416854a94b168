"""Several `paywatch run` processes on one PostgreSQL: instances, leases, fencing."""
