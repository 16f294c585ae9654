"""The maintainers' performance goals for the Lambda cold starts, evaluated on a run's figures: reported in
the maintainers' section of report.md, never asserted in tests."""


from typing import Any

from shopctl.compare.figures import ratio, ratio_of_medians


def _entry_rows(rows: list[dict], variant: str) -> dict[str, list[dict]]:
    by_stage: dict[str, list[dict]] = {}
    for row in rows:
        if row["variant"] == variant:
            by_stage.setdefault(row["stage"], []).append(row)
    return by_stage


SNAPSTART_LIMIT = 0.25  # SnapStart's cold request (the restore) at most this share of the plain ZIP's
IMAGE_LIMIT = 1.2  # the Web Adapter image's cold request at most this multiple of the plain ZIP's


def goals(result: dict[str, Any]) -> dict[str, Any]:
    """The performance goals of section 4, evaluated on this run's figures (reported, never asserted)."""
    rows = result.get("lambda", [])
    plain = _entry_rows(rows, "plain")
    optimized = _entry_rows(rows, "optimized")
    out: dict[str, Any] = {
        "floor_ratio_limit": 1.10,
        "clean_vs_monolith_limit": 1.05,
        "optimized_gain_goal": 0.30,
        "snapstart_limit": SNAPSTART_LIMIT,
        "image_limit": IMAGE_LIMIT,
    }
    for mode, limit in (("snapstart", SNAPSTART_LIMIT), ("image", IMAGE_LIMIT)):
        checks = []
        for stage, stage_rows in _entry_rows(rows, mode).items():
            for row in stage_rows:
                before = next((r for r in plain.get(stage, []) if r["function"] == row["function"]), None)
                versus = ratio_of_medians(row["cold_request_ms"], before["cold_request_ms"]) if before else None
                if versus is None:
                    continue
                check = {"function": row["function"], "stage": stage, "ratio": versus, "met": versus <= limit}
                if mode == "snapstart":  # the Restore Duration alone, over the plain cold request
                    check["restore_ratio"] = ratio_of_medians(row.get("restore_ms"), before["cold_request_ms"])
                checks.append(check)
        out[mode] = checks
    floor_checks = []
    for stage, stage_rows in plain.items():
        for row in stage_rows:
            if row["cold_request_ratio"] is not None:
                floor_checks.append(
                    {
                        "function": row["function"],
                        "ratio": row["cold_request_ratio"],
                        "met": row["cold_request_ratio"] <= 1.10,
                        "stage": stage,
                    }
                )
    out["floor"] = floor_checks
    if "clean" in plain and "monolith" in plain:
        # Measured in the same rounds: the median of the per-round ratios, as for the floor.
        versus = ratio(plain["clean"][0]["cold_request_ms"], plain["monolith"][0]["cold_request_ms"], paired=True)
        if versus is not None:
            out["clean_vs_monolith"] = {"ratio": versus, "met": versus <= 1.05}
    gains = []
    for stage, stage_rows in optimized.items():
        for row in stage_rows:
            before = next((r for r in plain.get(stage, []) if r["function"] == row["function"]), None)
            if before is None:  # the plain ZIP was not measured (MODES=…)
                continue
            gain = 1 - row["cold_request_ms"]["median"] / before["cold_request_ms"]["median"]
            init_gain = (
                1 - row["init_ms"]["median"] / before["init_ms"]["median"]
                if row["init_ms"] and before["init_ms"]
                else None
            )
            gains.append(
                {
                    "function": row["function"],
                    "stage": stage,
                    "cold_request_gain": round(gain, 3),
                    "init_gain": round(init_gain, 3) if init_gain is not None else None,
                    "size_gain": round(1 - row["package"]["zipped_mb"] / before["package"]["zipped_mb"], 3),
                    "met": gain >= 0.30,
                }
            )
    out["optimized"] = gains
    return out
