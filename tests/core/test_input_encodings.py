"""Encodings an analyst's Excel, WPS or Google Sheets export arrives in."""

from __future__ import annotations

import codecs
import csv
import io
import re

import pytest

from batchdash.errors import InputError
from batchdash.inputs import encodings
from batchdash.inputs.encodings import (
    canonical_encoding,
    describe_encoding,
    detect_encoding,
    first_undecodable,
)
from batchdash.inputs.reading import read_table

SIMPLIFIED_LONG = (
    "编号,问题\n"
    "1,请把这句话翻译成英文：今天天气很好。\n"
    "2,总结下面的文章内容，不超过五十个字。\n"
    "3,根据用户的评论判断情绪是正面还是负面，并给出简短的理由。\n"
)
TRADITIONAL_LONG = (
    "編號,問題\n"
    "1,請把這句話翻譯成英文：今天天氣很好。\n"
    "2,總結下面的文章內容，不超過五十個字。\n"
    "3,根據使用者的評論判斷情緒是正面還是負面，並給出簡短的理由。\n"
)
JAPANESE_LONG = (
    "番号,質問\n"
    "1,この文章を英語に翻訳してください：今日はいい天気です。\n"
    "2,次の記事を五十字以内で要約してください。\n"
    "3,レビューを読んで、利用者の感情が肯定的か否定的かを判断してください。\n"
)
FRENCH_LONG = (
    "id,question\n"
    "1,Traduisez en anglais : « Le café est très chaud » — merci à vous.\n"
    "2,Résumez l'article en moins de cinquante mots ; soyez précis.\n"
    "3,Élodie a préparé une crème brûlée pour la fête de Noël.\n"
)
# Product reviews as a Korean shop exports them: words spaced, sentences in ASCII punctuation,
# a quoted cell with a comma, "ㅠㅠ", a Hanja word and a syllable only CP949 has (똠, not EUC-KR).
KOREAN_REVIEWS = (
    "번호,상품,평점,리뷰\n"
    "1,무선 이어폰,5,음질이 생각보다 훨씬 좋아요. 배터리도 하루 종일 갑니다.\n"
    "2,블루투스 스피커,3,소리는 괜찮은데 무거워서 들고 다니기 불편해요.\n"
    "3,휴대폰 케이스,4,색상이 사진과 똑같고 재질도 부드러워요. 다음에 또 구매할게요!\n"
    "4,USB-C 충전기,1,일주일 만에 고장 났어요 ㅠㅠ 환불 요청했습니다.\n"
    '5,전기 주전자,5,"물이 빨리 끓고, 소음도 거의 없어요. 부모님 선물로 샀는데 좋아하세요."\n'
    "6,쌀국수 밀키트,4,국물이 진하고 맛있어요. 똠얌꿍 맛도 나오면 좋겠습니다.\n"
    "7,등산화,2,사이즈가 작게 나와요. 新제품이라 기대했는데 발볼이 좁아서 아쉽네요.\n"
)
GERMAN_LONG = (
    "id,frage\n"
    "1,Übersetze ins Englische: Die Straße ist schön.\n"
    "2,Fasse den Artikel kürzer zusammen: höchstens fünfzig Wörter.\n"
    "3,Müller schrieb über die Bäume in Köln.\n"
)

SAMPLES = [
    ("gb18030", SIMPLIFIED_LONG),
    ("gb18030", "问题\n你好吗\n"),
    ("gb18030", "城市\n北京\n上海\n"),
    ("gb18030", "id,prompt\n1,是\n"),
    ("gb18030", "客户,评价\n王,很满意\n"),
    ("cp950", TRADITIONAL_LONG),
    ("cp950", "問題\n你好嗎\n"),
    ("cp950", "城市\n臺北\n高雄\n"),
    ("cp950", "id,prompt\n1,是\n"),
    ("cp950", "客戶,評價\n王,很滿意\n"),
    ("cp932", JAPANESE_LONG),
    ("cp932", "質問\nこんにちは\n"),
    ("cp932", "名前\n田中\n"),
    ("cp932", "id,prompt\n1,はい\n"),
    ("cp949", "리뷰\n정말 좋아요 또 살게요\n"),
    ("cp949", "질문\n오늘 날씨가 어때요?\n내일 서울에 비가 오나요?\n"),
    ("cp949", "이름,주소\n홍길동,서울시 강남구 역삼동\n"),
    # Chinese and Japanese with spaces between words stay ahead of their Korean misreadings.
    ("gb18030", "评价\n手机 很好 很满意\n"),
    ("gb18030", "评论\n东西不错 物流很快 好评\n"),
    ("gb18030", "城市\n北京 上海 广州\n"),
    ("gb18030", "名字\n张三 李四\n"),
    ("cp950", "評價\n手機 很好 很滿意\n"),
    ("cp932", "レビュー\nとても 良い です\n"),
    ("cp1252", FRENCH_LONG),
    ("cp1252", GERMAN_LONG),
    ("cp1252", "name\ncréée\n"),
    ("cp1252", "city\nKöln\n"),
    ("cp1252", "word\ncafé\n"),
    ("cp1252", "price\n5 €\n"),
]


@pytest.mark.parametrize(("encoding", "text"), SAMPLES, ids=lambda v: str(len(v)))
def test_legacy_encodings_are_detected_short_and_long(encoding: str, text: str) -> None:
    data = text.encode(encoding)
    assert detect_encoding(data).name == encoding
    table = read_table(data, "export.csv")
    assert table.encoding == encoding
    header, *rows = text.strip("\n").split("\n")
    assert ",".join(table.frame.columns) == header
    assert [",".join(row) for row in table.frame.itertuples(index=False)] == rows


@pytest.mark.parametrize("codec", ["cp949", "euc_kr"])
def test_korean_reviews_are_read_as_korean(codec: str) -> None:
    # EUC-KR has no 똠, so its file says 톰 there.
    text = KOREAN_REVIEWS if codec == "cp949" else KOREAN_REVIEWS.replace("똠", "톰")
    data = text.encode(codec)
    assert data.decode("gb18030")  # every byte also reads as Chinese: the trap to avoid
    table = read_table(data, "reviews.csv")
    assert table.encoding == "cp949"  # a superset of EUC-KR, so it reads both
    assert describe_encoding(table.encoding) == "Korean (CP949/EUC-KR)"
    assert table.notes == ()
    header, *rows = csv.reader(io.StringIO(text))
    assert list(table.frame.columns) == header
    assert table.frame.values.tolist() == rows


def test_short_korean_names_can_be_chosen_by_hand() -> None:
    # Without a space these syllables are also flawless Chinese; the tie goes to Chinese.
    data = "이름,도시\n김철수,서울\n".encode("cp949")
    for name in ("cp949", "EUC-KR"):
        table = read_table(data, "names.csv", encoding=name)
        assert table.frame.to_dict("list") == {"이름": ["김철수"], "도시": ["서울"]}


def test_twelve_byte_gbk_file() -> None:
    data = "问题\n你好吗\n".encode("gbk")
    assert len(data) == 12
    table = read_table(data, "short.csv")
    assert table.encoding == "gb18030"
    assert table.frame.to_dict("list") == {"问题": ["你好吗"]}
    assert table.notes == ()


def test_utf8_wins_first_and_plain_utf8_reads() -> None:
    table = read_table("id,prompt\n1,你好 café\n".encode(), "u.csv")
    assert table.encoding == "utf-8"
    assert table.frame["prompt"].tolist() == ["你好 café"]


def test_utf8_bom_is_not_part_of_the_first_column_name() -> None:
    table = read_table(codecs.BOM_UTF8 + "id,prompt\n1,é\n".encode(), "bom.csv")
    assert table.encoding == "utf-8-sig"
    assert list(table.frame.columns) == ["id", "prompt"]


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_excel_unicode_text_utf16_with_bom(codec: str) -> None:
    bom = codecs.BOM_UTF16_LE if codec.endswith("le") else codecs.BOM_UTF16_BE
    data = bom + "id\tprompt\r\n007\t你好, café\r\n".encode(codec)
    table = read_table(data, "unicode.txt")
    assert (table.encoding, table.delimiter) == ("utf-16", "\t")
    assert table.frame.to_dict("list") == {"id": ["007"], "prompt": ["你好, café"]}


def test_utf16_without_bom_is_recognised() -> None:
    table = read_table("id\tprompt\n1\tbonjour\n".encode("utf-16-le"), "nobom.txt")
    assert table.encoding == "utf-16-le"
    assert table.frame["prompt"].tolist() == ["bonjour"]


def test_explicit_encoding_overrides_detection() -> None:
    data = "id,prompt\n1,你好吗\n".encode("gbk")
    table = read_table(data, "x.csv", encoding="cp1252")
    assert table.encoding == "cp1252"
    assert table.frame["prompt"].tolist() == ["ÄãºÃÂð"]
    assert read_table(data, "x.csv", encoding="GBK").frame["prompt"].tolist() == ["你好吗"]


@pytest.mark.parametrize("name", ["klingon", "base64"])
def test_unknown_encoding_is_named(name: str) -> None:
    with pytest.raises(InputError, match=f"'{name}' is not an encoding Batchdash knows. Leave"):
        read_table(b"a\n1\n", "x.csv", encoding=name)


def test_explicit_encoding_that_cannot_decode_names_the_line() -> None:
    data = "id\n1\n你好\n".encode("gbk")
    with pytest.raises(
        InputError,
        match=re.escape(
            "'x.csv' is not UTF-8 text: line 3 has bytes that utf-8 cannot read. Choose another"
        ),
    ):
        read_table(data, "x.csv", encoding="utf-8")


def test_a_few_stray_bytes_in_utf8_are_replaced_and_reported() -> None:
    data = "id,prompt\n1,café naïve à été\n2,déjà\n".encode() + b"3,caf\xe9\n"
    table = read_table(data, "mixed.csv")
    assert table.encoding == "utf-8"
    assert table.frame["prompt"].tolist() == ["café naïve à été", "déjà", "caf\ufffd"]
    assert table.notes == (
        "1 byte on line 4 is not valid UTF-8 (shown as \ufffd); check those cells, or save the "
        "file again as 'CSV UTF-8'.",
    )


def test_an_uncertain_guess_is_reported() -> None:
    data = "имя\nПривет мир\n".encode("cp1251")  # not an encoding Batchdash detects
    table = read_table(data, "ru.csv")
    assert table.notes == (
        "Batchdash is not sure the file is Western European (Windows-1252); if the text looks "
        "garbled, choose the file's encoding by hand.",
    )


@pytest.mark.parametrize(
    "codec", ["gb18030", "cp950", "cp932", "cp949", "utf-8", "cp1252", "utf-16-le"]
)
def test_first_undecodable_is_exact_across_chunk_boundaries(
    codec: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(encodings, "_CHUNK_BYTES", 7)
    text = {
        "cp1252": "abcdéf\nghijk",
        "cp950": "編號一二\n三四五六",
        "cp949": "번호똠가\n나다라마",
    }.get(codec, "番号一二\n三四五六")
    base = text.encode(codec)
    bad = {"cp1252": b"\x81", "cp932": b"\x81\x7f", "utf-16-le": b"\x00\xd8\x41\x00"}.get(
        codec, b"\xff"
    )
    assert first_undecodable(base, codec) is None
    broken = 0
    for cut in range(0, len(base) + 1, 2 if codec == "utf-16-le" else 1):
        data = base[:cut] + bad + base[cut:]
        try:
            data.decode(codec)
            expected = None  # the bad bytes completed a valid character
        except UnicodeDecodeError as whole_file:
            expected = whole_file.start
        assert first_undecodable(data, codec) == expected
        broken += expected is not None
    assert broken > len(base) // 2


def test_encoding_names_and_labels() -> None:
    assert canonical_encoding(" Shift_JIS ") == "shift_jis"
    assert canonical_encoding("GBK") == "gbk"
    assert describe_encoding("gb18030") == "Chinese simplified (GB18030/GBK)"
    assert canonical_encoding("EUC-KR") == "euc_kr"
    assert canonical_encoding("UHC") == "cp949"
    assert describe_encoding("euc_kr") == "Korean (EUC-KR)"
    assert describe_encoding("koi8_r") == "koi8_r"


def test_utf16_cut_short_is_a_plain_error() -> None:
    data = "prompt\nhello\n".encode("utf-16") + b"x"
    with pytest.raises(InputError, match="not valid utf-16"):
        read_table(data, "cut.csv")
