"""Our categories as Open311 services: codes, Thai names, groups, keywords, attributes.

A service code is a category code (``shared.codes.CategoryCode``).  A category has
attributes (``metadata`` true) only where the office needs a fact the free text rarely
states plainly; every answer is added to the complaint's description, labelled, so the
officer reads it with the complainant's words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from shared.codes import CATEGORY_LABELS, CategoryCode

Datatype = Literal["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]


@dataclass(frozen=True, slots=True)
class Attribute:
    """One extra question of a service definition (GeoReport v2 ``attribute``)."""

    code: str
    datatype: Datatype
    required: bool
    order: int
    description: str
    datatype_description: str | None = None
    values: tuple[tuple[str, str], ...] = ()  # (key, Thai name) for the list datatypes
    variable: bool = True
    max_length: int = 200

    def value_name(self, key: str) -> str | None:
        return next((name for k, name in self.values if k == key), None)


@dataclass(frozen=True, slots=True)
class Service:
    """One category as an Open311 service."""

    code: str
    name: str
    description: str
    group: str
    keywords: tuple[str, ...]
    attributes: tuple[Attribute, ...] = field(default=())

    @property
    def metadata(self) -> bool:
        return bool(self.attributes)

    def attribute(self, code: str) -> Attribute | None:
        return next((a for a in self.attributes if a.code == code), None)


GROUP_TROUBLES = "ความเดือดร้อนทั่วไป"
GROUP_DEBT_LAND = "หนี้สินและที่ดิน"
GROUP_TIPS = "แจ้งเบาะแส"
GROUP_SUGGESTIONS = "ข้อเสนอแนะ"

_DEBT_AMOUNT = Attribute(
    code="debt_amount",
    datatype="number",
    required=False,
    order=1,
    description="จำนวนเงินที่กู้ยืมโดยประมาณ (บาท)",
    datatype_description="ตัวเลขจำนวนบาท เช่น 50000",
)
_LAND_DOCUMENT = Attribute(
    code="land_document",
    datatype="singlevaluelist",
    required=False,
    order=1,
    description="เอกสารสิทธิ์ของที่ดินที่เกี่ยวข้อง",
    values=(
        ("chanote", "โฉนดที่ดิน"),
        ("ns3", "น.ส.3 / น.ส.3 ก."),
        ("spk", "ส.ป.ก. 4-01"),
        ("other", "เอกสารอื่น"),
        ("none", "ไม่มีเอกสารสิทธิ์"),
    ),
)
_UTILITY = Attribute(
    code="utility",
    datatype="singlevaluelist",
    required=True,
    order=1,
    description="เรื่องที่เดือดร้อน",
    values=(
        ("electricity", "ไฟฟ้า"),
        ("water", "น้ำประปา"),
        ("road", "ถนน ทางเท้า สะพาน"),
        ("drainage", "ท่อระบายน้ำ น้ำท่วมขัง"),
        ("nuisance", "เสียง กลิ่น ฝุ่น รบกวน"),
        ("other", "อื่น ๆ"),
    ),
)
_POLLUTION = Attribute(
    code="pollution",
    datatype="multivaluelist",
    required=False,
    order=1,
    description="ลักษณะของปัญหา (เลือกได้หลายข้อ)",
    values=(
        ("air", "อากาศ ฝุ่น ควัน"),
        ("water", "น้ำเสีย"),
        ("waste", "ขยะ"),
        ("noise", "เสียง"),
        ("forest", "บุกรุกป่า"),
    ),
)
_SINCE = Attribute(
    code="since",
    datatype="datetime",
    required=False,
    order=2,
    description="เริ่มเกิดเหตุเมื่อใด",
    datatype_description="วันที่และเวลาแบบ ISO 8601 เช่น 2026-01-31T08:00:00+07:00",
)

_SPEC: dict[CategoryCode, tuple[str, str, tuple[str, ...], tuple[Attribute, ...]]] = {
    CategoryCode.assistance_request: (
        "ขอความช่วยเหลือด้านการดำรงชีวิต เช่น ที่อยู่อาศัย การรักษาพยาบาล เงินช่วยเหลือ",
        GROUP_TROUBLES,
        ("ขอความช่วยเหลือ", "ผู้ยากไร้", "สวัสดิการ", "assistance"),
        (),
    ),
    CategoryCode.informal_debt: (
        "หนี้เงินกู้นอกระบบ ดอกเบี้ยเกินอัตราที่กฎหมายกำหนด",
        GROUP_DEBT_LAND,
        ("หนี้นอกระบบ", "เงินกู้นอกระบบ", "ดอกเบี้ยโหด", "informal debt", "loan shark"),
        (_DEBT_AMOUNT,),
    ),
    CategoryCode.land: (
        "ข้อพิพาทที่ดิน การบุกรุกที่ดินหรือที่สาธารณะ",
        GROUP_DEBT_LAND,
        ("ที่ดิน", "บุกรุก", "ที่สาธารณะ", "land", "encroachment"),
        (_LAND_DOCUMENT,),
    ),
    CategoryCode.dispute_mediation: (
        "ขอให้ไกล่เกลี่ยข้อพิพาทระหว่างบุคคล",
        GROUP_TROUBLES,
        ("ไกล่เกลี่ย", "ข้อพิพาท", "เพื่อนบ้าน", "mediation"),
        (),
    ),
    CategoryCode.official_misconduct: (
        "ร้องเรียนการปฏิบัติหน้าที่ของเจ้าหน้าที่ของรัฐ",
        GROUP_TIPS,
        ("เจ้าหน้าที่", "ทุจริต", "ประพฤติมิชอบ", "misconduct", "corruption"),
        (),
    ),
    CategoryCode.drugs: (
        "แจ้งเบาะแสยาเสพติด",
        GROUP_TIPS,
        ("ยาเสพติด", "ยาบ้า", "drugs"),
        (),
    ),
    CategoryCode.gambling: (
        "แจ้งเบาะแสการพนันผิดกฎหมาย",
        GROUP_TIPS,
        ("การพนัน", "บ่อน", "หวยเถื่อน", "gambling"),
        (),
    ),
    CategoryCode.debt_collection: (
        "การทวงถามหนี้ที่ไม่เป็นธรรมหรือข่มขู่",
        GROUP_DEBT_LAND,
        ("ทวงหนี้", "ข่มขู่", "debt collection"),
        (),
    ),
    CategoryCode.public_utilities: (
        "ปัญหาไฟฟ้า น้ำประปา ถนน หรือเหตุเดือดร้อนรำคาญ",
        GROUP_TROUBLES,
        ("ไฟฟ้า", "ประปา", "ถนน", "เหตุรำคาญ", "utilities", "nuisance"),
        (_UTILITY, _SINCE),
    ),
    CategoryCode.environment: (
        "มลพิษ ขยะ น้ำเสีย หรือการทำลายทรัพยากรธรรมชาติ",
        GROUP_TROUBLES,
        ("สิ่งแวดล้อม", "มลพิษ", "ขยะ", "ฝุ่น", "environment", "pollution"),
        (_POLLUTION, _SINCE),
    ),
    CategoryCode.tip_off: (
        "แจ้งเบาะแสการกระทำผิดกฎหมายอื่น ๆ",
        GROUP_TIPS,
        ("เบาะแส", "แจ้งเหตุ", "tip-off"),
        (),
    ),
    CategoryCode.suggestion: (
        "ข้อเสนอแนะต่อการให้บริการของรัฐ",
        GROUP_SUGGESTIONS,
        ("ข้อเสนอแนะ", "suggestion"),
        (),
    ),
    CategoryCode.other: (
        "เรื่องร้องเรียนอื่น ๆ",
        GROUP_TROUBLES,
        ("อื่น ๆ", "other"),
        (),
    ),
}

SERVICES: tuple[Service, ...] = tuple(
    Service(
        code=code.value,
        name=CATEGORY_LABELS[code][0],
        description=description,
        group=group,
        keywords=(CATEGORY_LABELS[code][1], *keywords),
        attributes=attributes,
    )
    for code, (description, group, keywords, attributes) in _SPEC.items()
)
_BY_CODE = {s.code: s for s in SERVICES}

# Whistle-blowing and tip-off categories stay out of the public request view altogether:
# in a small subdistrict even "a drugs tip-off near here on this date" can point at the
# person who gave it.  The filer still gets the tracking number and uses public tracking.
UNPUBLISHED = frozenset(
    {
        CategoryCode.official_misconduct.value,
        CategoryCode.drugs.value,
        CategoryCode.gambling.value,
        CategoryCode.tip_off.value,
    }
)


def service(code: str) -> Service | None:
    """The service of a category code, or None for an unknown code."""
    return _BY_CODE.get(code)
