"""The resource declarations, one module each: what a resource is, never how it is served (crud/)."""
