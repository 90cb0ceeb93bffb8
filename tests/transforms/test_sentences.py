"""split_sentences on real translated messages: the hi, ar and th gold of
benchmarks/sentence_split.py (the gettext catalogues of Debian 12 packages; each string's package
and licence is named where it is used)."""

from transforms.sentences import split_sentences

# dolphin 4:22.12.3-1 (KDE), hi/dolphin.mo, GPL-2+
HI_DANDA = ["यह इस विंडो को बंद कर देता है।", "पहले देखे गए फ़ोल्डर पर लौटें।"]
HI_FULL_STOP = ["उपयोक्ता द्वारा अंतिम बार इन गुणों में परिवर्तन किए गए.", "यह चयनित फ़ोल्डर को स्थान पैनल में जोड़ता है।"]
# gnome-control-center-data 1:43.6-2~deb12u1, GPL-2+ (first two); gedit-common 44.2-1, GPL-2 (last two)
AR = ["أأحذف كل الملفات المؤقتة؟", "أأحذف البصمات المسجّلة؟", "عُطّل الحفظ من قبل مدير النظام.", "أترغب بتعديله على كل حال؟"]
# gedit-common 44.2-1, th/gedit.mo, GPL-2: two English sentences each ("A file with the same name
# already exists. Please use a different name."; "Cannot find the requested file. Perhaps it has
# recently been deleted.")
TH_TWO = ["มีแฟ้มชื่อเดียวกันอยู่ก่อนแล้ว กรุณาใช้ชื่ออื่น", "หาแฟ้มที่ร้องขอไม่พบ เป็นไปได้ว่าแฟ้มอาจเพิ่งถูกลบไป"]


def test_hindi_splits_on_danda():
    assert split_sentences(" ".join(HI_DANDA), "hi") == HI_DANDA


def test_hindi_splits_on_full_stop_too():
    # GNOME's and most KDE Hindi catalogues end sentences with "." rather than "।"
    assert split_sentences(" ".join(HI_FULL_STOP + HI_DANDA), "hi") == HI_FULL_STOP + HI_DANDA


def test_arabic_splits_on_question_mark_and_full_stop():
    assert split_sentences(" ".join(AR), "ar") == AR


def test_lines_are_paragraphs_and_blank_lines_are_dropped():
    text = AR[0] + "\n\n" + " ".join(AR[1:3]) + "\n"
    assert split_sentences(text, "ar") == AR[:3]


def test_thai_splits_at_a_space_between_thai_characters():
    assert split_sentences(TH_TWO[0], "th") == TH_TWO[0].split(" ")
    assert split_sentences(" ".join(TH_TWO), "th") == " ".join(TH_TWO).split(" ")


def test_thai_keeps_a_clause_before_a_conjunction():
    # gedit-common 44.2-1, GPL-2: "Please check that you typed the location correctly and try again."
    one = "กรุณาตรวจสอบว่าพิมพ์ตำแหน่งถูกต้องหรือไม่ และลองใหม่อีกครั้ง"
    assert split_sentences(one, "th") == [one]


def test_thai_does_not_split_after_mai_yamok():
    # libglib2.0-data 2.74.6-2+deb12u9, th/glib20.mo, LGPL-2.1+: "Concatenate files and print to
    # standard output."  ๆ repeats the word before it; the space after it is inside the sentence.
    one = "พิมพ์เนื้อหาของแฟ้มต่างๆ เรียงต่อกันออกทางเอาต์พุตมาตรฐาน"
    assert split_sentences(one, "th") == [one]


def test_thai_does_not_split_at_a_space_next_to_a_latin_word():
    # gedit-common 44.2-1, GPL-2: "Whether gedit should create backup copies for the files it saves."
    one = "กำหนดให้ gedit สร้างสำเนาสำรองสำหรับแฟ้มที่บันทึก"
    assert split_sentences(one, "th") == [one]

