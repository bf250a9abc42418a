"""Operations tooling: release preflight, determinism lint, replay check, instance management."""
