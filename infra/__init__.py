"""Resource definitions and provisioning tooling (never shipped to Lambda)."""
