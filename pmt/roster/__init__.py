"""Person rosters: read and link a person file, build household proxies from members,
rebuild nuclear families (see DESIGN.md section 5b, ``pmt.roster.families``).
"""

from pmt.roster.aggregate import (
    ProxyDefinition,
    ProxyDefinitions,
    example_proxies_path,
    family_table,
    household_proxies,
    load_proxy_definitions,
    member_condition,
    rebuild_families,
)
from pmt.roster.data import RosterLink, link_roster, read_roster, roster_spec_path
from pmt.roster.families import families, family_summary, load_codes

__all__ = [
    "read_roster",
    "link_roster",
    "RosterLink",
    "roster_spec_path",
    "household_proxies",
    "load_proxy_definitions",
    "ProxyDefinition",
    "ProxyDefinitions",
    "member_condition",
    "example_proxies_path",
    "families",
    "family_table",
    "rebuild_families",
    "family_summary",
    "load_codes",
]
