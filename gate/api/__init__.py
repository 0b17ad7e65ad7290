"""HTTP endpoints for the gate's callers (app stores, device makers, developers) and what they share: upload
spooling, package_url fetching, webhook signatures."""
