"""One principal of each role, with the areas the policy tests decide over."""

from __future__ import annotations

from shared.auth.principal import Principal, Role
from shared.codes import ChannelCode

DISTRICT = Principal("o-5001", Role.district_officer, district_code="5001")
PROVINCE = Principal("p-50", Role.provincial_officer, province_code="50")
NATIONAL = Principal("n", Role.national_supervisor)
AUDITOR = Principal("a", Role.auditor)
ADMIN = Principal("root", Role.admin)
NOTIFIER = Principal("notify", Role.notifier)
LINE = Principal("apikey:line", Role.channel, channel=ChannelCode.line)
WALK_IN = Principal("apikey:walk_in", Role.channel, channel=ChannelCode.walk_in)
