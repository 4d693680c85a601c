"""Artifacts for other tools: the contracts' ABIs, bytecode and solc metadata, the deployments in a
documented JSON, brownie's deployment map, and re-verifying deployed code from the metadata
(docs/artifacts.md)."""
