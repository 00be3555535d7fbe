"""The key the roster sorts names by: their pinyin, as a Chinese reader expects a list ordered.

Unicode order of 汉字 follows radicals and strokes, so 王 would come before 李. The key is
stored on the deputy (filled whenever the name is set) so that the list, the export and the API
sort the same way on SQLite and on PostgreSQL, whatever collations the server has.
"""
from pypinyin import Style, lazy_pinyin

KEY_LENGTH = 255


def name_sort_key(name):
    """"张三" -> "zhang1 san1 张三"; Latin letters and digits stay as written (lower case).

    The tone number after each syllable keeps 妈 (ma1) before 马 (ma3); the name itself at the
    end orders two names that read alike by their characters, so the order is stable.
    """
    name = (name or "").strip()
    syllables = lazy_pinyin(name, style=Style.TONE3, neutral_tone_with_five=True, errors="default")
    return f"{' '.join(s.lower() for s in syllables)} {name}"[:KEY_LENGTH]
