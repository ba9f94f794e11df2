"""The linter: rules, their registry and runner, suppressions, fixes and the checklist."""
