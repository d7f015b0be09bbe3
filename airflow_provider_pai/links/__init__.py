"""Console links: persisted as soon as the remote id is known (see ``links.base``)."""
