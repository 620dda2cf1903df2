"""Write webapp/zones.json: the time zones the picker lists, and the old names that map to them.

Run where the IANA source files are installed (Debian's tzdata package:
/usr/share/zoneinfo/zone.tab and tzdata.zi): `python scripts/build_zones.py`. The app reads only
the JSON (Python's tzdata package, which the app uses for the rules, ships neither file).

- zones: the canonical names people pick by place, one per region of a country (zone.tab), and UTC;
- aliases: IANA's backward-compatible names (the `L` lines of tzdata.zi: US/Eastern,
  Asia/Calcutta, Europe/Kiev, GB …), each mapped to the listed zone it is a link to; a name that
  zone.tab lists itself (Europe/Vatican, a link to Europe/Rome) stays a zone of its own.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

SOURCE = Path(sys.argv[1] if len(sys.argv) > 1 else "/usr/share/zoneinfo")
OUT = Path(__file__).resolve().parents[1] / "webapp" / "zones.json"
#: Every name for "UTC, forever" lands on UTC.
UTC_NAMES = {"Etc/UTC", "Etc/GMT", "Etc/UCT", "Etc/Universal", "Etc/Zulu", "Etc/Greenwich", "Etc/GMT+0",
             "Etc/GMT-0", "Etc/GMT0"}


def main() -> None:
    zones = sorted({line.split("\t")[2].strip() for line in (SOURCE / "zone.tab").read_text().splitlines()
                    if line and not line.startswith("#")})
    links: dict[str, str] = {}
    version = ""
    for line in (SOURCE / "tzdata.zi").read_text().splitlines():
        if line.startswith("# version"):
            version = line.split()[-1]
        if line.startswith("L "):
            _, target, alias = line.split()
            links[alias] = target
    listed = set(zones)
    aliases = {}
    for alias, target in sorted(links.items()):
        if alias in listed or alias == "UTC":  # a country's own zone (Europe/Vatican), even if a link
            continue
        while target in links:
            target = links[target]
        if target in UTC_NAMES:
            target = "UTC"
        if target in listed or target == "UTC":
            aliases[alias] = target
    for name in UTC_NAMES:
        aliases.setdefault(name, "UTC")
    OUT.write_text(json.dumps({"source": f"IANA tz {version} (zone.tab, tzdata.zi)", "zones": ["UTC", *zones],
                               "aliases": dict(sorted(aliases.items()))}, indent=0) + "\n")
    print(f"{OUT}: {len(zones) + 1} zones, {len(aliases)} aliases")


if __name__ == "__main__":
    main()
