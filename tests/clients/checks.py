"""What the client scripts here share: one line per check, and the first failure ends the run
with a non-zero exit and what was seen."""


def check(condition, what, detail=""):
    """Prints `ok: what`, or ends the script with `FAIL: what: detail` (exit status 1)."""
    if not condition:
        raise SystemExit(f"FAIL: {what}: {detail}")
    print(f"ok: {what}", flush=True)
