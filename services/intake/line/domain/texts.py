"""What the LINE channel says, in Thai: official but plain.  Pure text, no decisions."""

from __future__ import annotations

CANCEL = "ยกเลิก"
CONFIRM = "ยืนยัน"
ANONYMOUS = "ไม่ประสงค์ออกนาม"
# LINE's limits: a quick reply holds at most 13 items, a label at most 20 characters.
QUICK_MAX = 13
LABEL_MAX = 20

GREETING = (
    "ศูนย์ดำรงธรรม ยินดีรับเรื่องร้องเรียนและร้องทุกข์ของท่าน\n"
    "กรุณาเล่าเรื่องที่ท่านพบ ว่าเกิดอะไรขึ้น ที่ไหน เมื่อใด "
    "(พิมพ์ \u201cยกเลิก\u201d ได้ทุกเมื่อ)"
)
STORY_TOO_SHORT = "กรุณาเล่ารายละเอียดเพิ่มอีกเล็กน้อย เพื่อให้เจ้าหน้าที่เข้าใจเรื่องของท่าน"
STORY_UNREADABLE = "ข้อความนี้มีอักขระที่ระบบรับไม่ได้ กรุณาพิมพ์เรื่องของท่านใหม่อีกครั้ง"
ASK_CATEGORY = "เรื่องของท่านเป็นเรื่องประเภทใด กรุณาเลือกจากรายการด้านล่าง"
ASK_DISTRICT = (
    "เรื่องนี้เกิดขึ้นในอำเภอหรือเขตใด กรุณาพิมพ์ชื่ออำเภอ (เช่น \u201cสันทราย เชียงใหม่\u201d) หรือกดส่งตำแหน่งที่ตั้ง"
)
DISTRICT_UNKNOWN = "ไม่พบอำเภอหรือเขตชื่อนี้ กรุณาพิมพ์ชื่ออำเภอหรือเขตอีกครั้ง"
DISTRICT_MANY = "พบหลายแห่ง กรุณาเลือกจากรายการด้านล่าง"
DISTRICT_TOO_MANY = "พบหลายแห่ง กรุณาพิมพ์ชื่ออำเภอพร้อมชื่อจังหวัด เช่น \u201cเมือง เชียงใหม่\u201d"
LOCATION_UNPLACED = "ระบบยังระบุอำเภอจากตำแหน่งที่ส่งมาไม่ได้ กรุณาพิมพ์ชื่ออำเภอหรือเขต"
SEND_LOCATION = "ส่งตำแหน่งที่ตั้ง"
ASK_NAME = (
    "กรุณาพิมพ์ชื่อและนามสกุลของท่าน เพื่อให้ศูนย์ดำรงธรรมแจ้งความคืบหน้าให้ท่านทาง LINE "
    "หรือกด \u201cไม่ประสงค์ออกนาม\u201d (จะไม่ได้รับแจ้งความคืบหน้า)"
)
NAME_UNUSABLE = "กรุณาพิมพ์ชื่อและนามสกุลอีกครั้ง หรือกด \u201cไม่ประสงค์ออกนาม\u201d"
ASK_CONFIRM = "กด \u201cยืนยัน\u201d เพื่อส่งเรื่อง หรือ \u201cยกเลิก\u201d หากไม่ต้องการส่ง"
TEXT_ONLY = "ขออภัย ขั้นตอนนี้รับเฉพาะข้อความตัวอักษร"
CANCELLED = "ยกเลิกเรื่องนี้แล้ว หากต้องการแจ้งเรื่องใหม่ พิมพ์ข้อความใดก็ได้"
NOT_FILED = "ขออภัย ระบบยังรับเรื่องนี้ไม่ได้ กรุณาลองใหม่อีกครั้ง หรือติดต่อสายด่วน 1567"


def summary(subject: str, category: str, place: str, name: str | None) -> str:
    who = ANONYMOUS if name is None else name
    return f"กรุณาตรวจสอบเรื่องของท่าน\nเรื่อง: {subject}\nประเภท: {category}\nพื้นที่: {place}\nผู้ร้อง: {who}"


def filed(tracking_no: str) -> str:
    return f"ศูนย์ดำรงธรรมได้รับเรื่องของท่านแล้ว\nเลขที่เรื่อง {tracking_no}\nกรุณาเก็บเลขนี้ไว้ใช้ติดตามความคืบหน้า"


def place_name(district: str, province: str, *, bangkok: bool) -> str:
    if bangkok:  # Bangkok's districts are already named "เขต..."
        return f"{district} {province}".strip()
    return f"อำเภอ{district} จังหวัด{province}"


def label(text: str) -> str:
    """``text`` fitted to a quick reply label."""
    return text if len(text) <= LABEL_MAX else text[: LABEL_MAX - 1] + "\u2026"
