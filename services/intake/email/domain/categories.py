"""A category for a complaint sent by e-mail, from keywords.  Pure, deliberately simple.

The rules are tried in the order below, on the subject first and then on the text; the
first rule with a keyword found wins, and ``other`` when none is.  Thai keywords match as
substrings (Thai is written without spaces between words), English ones as whole words,
both without case.  More specific rules come first ("หนี้นอกระบบ" before "ทวงหนี้").
The officer who accepts the case corrects a wrong guess; a guess only saves a click.
"""

from __future__ import annotations

import re

from shared.codes import CategoryCode

RULES: tuple[tuple[CategoryCode, tuple[str, ...]], ...] = (
    (CategoryCode.informal_debt, ("หนี้นอกระบบ", "เงินกู้นอกระบบ", "ดอกเบี้ยโหด", "loan shark")),
    (CategoryCode.debt_collection, ("ทวงหนี้", "ทวงถามหนี้", "debt collector", "debt collection")),
    (CategoryCode.official_misconduct, ("ทุจริต", "เรียกรับเงิน", "สินบน", "corruption", "bribe")),
    (CategoryCode.drugs, ("ยาเสพติด", "ยาบ้า", "ยาไอซ์", "drugs", "narcotics")),
    (CategoryCode.gambling, ("การพนัน", "บ่อนการพนัน", "พนันออนไลน์", "gambling", "casino")),
    (CategoryCode.land, ("ที่ดิน", "โฉนด", "รุกล้ำ", "land title", "encroachment")),
    (CategoryCode.environment, ("กลิ่นเหม็น", "ขยะ", "ฝุ่น", "น้ำเสีย", "เสียงดัง", "pollution")),
    (CategoryCode.public_utilities, ("ไฟฟ้า", "ประปา", "ไฟดับ", "ถนนชำรุด", "streetlight")),
    (CategoryCode.dispute_mediation, ("ไกล่เกลี่ย", "ข้อพิพาท", "mediation", "dispute")),
    (CategoryCode.tip_off, ("แจ้งเบาะแส", "เบาะแส", "tip-off", "tip off")),
    (CategoryCode.suggestion, ("ข้อเสนอแนะ", "เสนอแนะ", "suggestion")),
    (CategoryCode.assistance_request, ("ขอความช่วยเหลือ", "ขอความอนุเคราะห์", "assistance")),
)


def _pattern(keywords: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = [re.escape(k) if not k.isascii() else rf"\b{re.escape(k)}\b" for k in keywords]
    return re.compile("|".join(alternatives), re.IGNORECASE)


_COMPILED = tuple((category, _pattern(words)) for category, words in RULES)


def category_for(subject: str, text: str) -> CategoryCode:
    """The first rule's category whose keyword is in ``subject``, else in ``text``, else
    ``other``."""
    for haystack in (subject, text):
        for category, pattern in _COMPILED:
            if pattern.search(haystack):
                return category
    return CategoryCode.other
