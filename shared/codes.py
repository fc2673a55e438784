"""The closed vocabularies every service shares: channels, categories, closure reasons.

Each code has a Thai and an English label, served by intake's reference endpoints and
used by the import and demo tools.
"""

from __future__ import annotations

from enum import StrEnum


class ChannelCode(StrEnum):
    walk_in = "walk_in"
    hotline_1567 = "hotline_1567"
    letter = "letter"
    web = "web"
    mobile_app = "mobile_app"
    line = "line"
    email = "email"
    facebook = "facebook"
    pm_office_1111 = "pm_office_1111"
    ombudsman = "ombudsman"
    ministry_referral = "ministry_referral"
    provincial_centre = "provincial_centre"
    district_centre = "district_centre"
    central_centre = "central_centre"


class CategoryCode(StrEnum):
    assistance_request = "assistance_request"
    informal_debt = "informal_debt"
    land = "land"
    dispute_mediation = "dispute_mediation"
    official_misconduct = "official_misconduct"
    drugs = "drugs"
    gambling = "gambling"
    debt_collection = "debt_collection"
    public_utilities = "public_utilities"
    environment = "environment"
    tip_off = "tip_off"
    suggestion = "suggestion"
    other = "other"


class CaseStatus(StrEnum):
    """Where a case stands in its lifecycle (ARCHITECTURE.md §7)."""

    filed = "filed"
    accepted = "accepted"
    rejected = "rejected"
    in_progress = "in_progress"
    forwarded = "forwarded"
    closed = "closed"
    reopened = "reopened"


class ClosureReason(StrEnum):
    resolved = "resolved"
    mediated = "mediated"
    withdrawn = "withdrawn"
    out_of_jurisdiction = "out_of_jurisdiction"
    duplicate = "duplicate"
    insufficient_information = "insufficient_information"
    referred_elsewhere = "referred_elsewhere"


CHANNEL_LABELS: dict[ChannelCode, tuple[str, str]] = {
    ChannelCode.walk_in: ("มาด้วยตนเอง", "Walk-in"),
    ChannelCode.hotline_1567: ("สายด่วน 1567", "Hotline 1567"),
    ChannelCode.letter: ("หนังสือ/จดหมาย", "Letter"),
    ChannelCode.web: ("เว็บไซต์", "Web"),
    ChannelCode.mobile_app: ("แอปพลิเคชัน", "Mobile app"),
    ChannelCode.line: ("ไลน์", "LINE"),
    ChannelCode.email: ("อีเมล", "E-mail"),
    ChannelCode.facebook: ("เฟซบุ๊ก", "Facebook"),
    ChannelCode.pm_office_1111: ("สำนักนายกรัฐมนตรี 1111", "PM's Office 1111"),
    ChannelCode.ombudsman: ("ผู้ตรวจการแผ่นดิน", "Ombudsman"),
    ChannelCode.ministry_referral: ("กระทรวง/กรมอื่น", "Ministry referral"),
    ChannelCode.provincial_centre: ("ศูนย์ดำรงธรรมจังหวัด", "Provincial centre"),
    ChannelCode.district_centre: ("ศูนย์ดำรงธรรมอำเภอ", "District centre"),
    ChannelCode.central_centre: ("ศูนย์ดำรงธรรมกระทรวงมหาดไทย", "Central centre"),
}

CATEGORY_LABELS: dict[CategoryCode, tuple[str, str]] = {
    CategoryCode.assistance_request: ("ขอความช่วยเหลือ", "Request for assistance"),
    CategoryCode.informal_debt: ("หนี้นอกระบบ", "Informal debt"),
    CategoryCode.land: ("ที่ดินและการบุกรุก", "Land and encroachment"),
    CategoryCode.dispute_mediation: ("ข้อพิพาท/ไกล่เกลี่ย", "Dispute mediation"),
    CategoryCode.official_misconduct: ("เจ้าหน้าที่ของรัฐ", "Official misconduct"),
    CategoryCode.drugs: ("ยาเสพติด", "Drugs"),
    CategoryCode.gambling: ("การพนัน", "Gambling"),
    CategoryCode.debt_collection: ("การทวงถามหนี้", "Debt collection abuse"),
    CategoryCode.public_utilities: ("สาธารณูปโภค/เหตุเดือดร้อนรำคาญ", "Public utilities and nuisance"),
    CategoryCode.environment: ("สิ่งแวดล้อม/มลพิษ", "Environment and pollution"),
    CategoryCode.tip_off: ("แจ้งเบาะแส", "Tip-off"),
    CategoryCode.suggestion: ("ข้อเสนอแนะ", "Suggestion"),
    CategoryCode.other: ("อื่น ๆ", "Other"),
}

CLOSURE_REASON_LABELS: dict[ClosureReason, tuple[str, str]] = {
    ClosureReason.resolved: ("แก้ไขแล้วเสร็จ", "Resolved"),
    ClosureReason.mediated: ("ไกล่เกลี่ยสำเร็จ", "Mediated"),
    ClosureReason.withdrawn: ("ผู้ร้องถอนเรื่อง", "Withdrawn"),
    ClosureReason.out_of_jurisdiction: ("ไม่อยู่ในอำนาจหน้าที่", "Out of jurisdiction"),
    ClosureReason.duplicate: ("เรื่องซ้ำ", "Duplicate"),
    ClosureReason.insufficient_information: ("ข้อมูลไม่เพียงพอ", "Insufficient information"),
    ClosureReason.referred_elsewhere: ("ส่งหน่วยงานอื่นดำเนินการ", "Referred elsewhere"),
}
