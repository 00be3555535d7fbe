"""Classification tables (Chinese and English, full-width, punctuation, spaces, mixed texts) and
a property: whatever arrives, classify() answers one of the kinds and never raises."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.replies.classify import Reading, classify, find_code, normalise, read_reply
from notifier.replies.models import KINDS
from notifier.replies.words import DEFAULT_WORDS

TABLE = [
    # confirm
    ("1", "confirm"), ("１", "confirm"), (" 1 ", "confirm"), ("1。", "confirm"), ("1!", "confirm"),
    ("是", "confirm"), ("确认", "confirm"), ("参加", "confirm"),
    ("收到，准时参加", "confirm"), ("确认参加，谢谢", "confirm"), ("1 收到", "confirm"), ("好的，准时参加", "confirm"),
    ("1收到", "confirm"), ("yes", "confirm"), ("YES", "confirm"), ("Ｙｅｓ！", "confirm"), ("y", "confirm"),
    ("yes, I will come", "confirm"), ("#27 1", "confirm"), ("1 #27", "confirm"),
    ("１＃２７", "confirm"), ("确 认", "confirm"), ("\u200b1\u200b", "confirm"),
    # decline
    ("2", "decline"), ("２", "decline"), ("2 出差在外", "decline"), ("2，请假", "decline"), ("否", "decline"),
    ("不参加", "decline"), ("请假", "decline"), ("请假，在外地开会", "decline"), ("参加不了", "decline"),
    ("不能参加。", "decline"), ("no", "decline"), ("NO!", "decline"), ("N", "decline"), ("no, sorry", "decline"),
    ("2 #31", "decline"), ("收到，不能参加", "decline"), ("收到 请假", "decline"),
    # received only: not an answer to "will you attend" (issue 16 item 7)
    ("收到", "ack"), ("已收到", "ack"), ("好", "ack"), ("好的！", "ack"), ("OK", "ack"), ("收到，谢谢", "ack"),
    ("已收到 #27", "ack"),
    # duty work: sign-in on the day, suggestions
    ("签到", "sign_in"), ("签 到！", "sign_in"), ("建议修缮城关小学校舍", "suggestion"), ("JY 修路", "suggestion"),
    ("jy：增设公交站", "suggestion"), ("建议", "suggestion"),
    # opt-out / opt-in / help
    ("退订", "opt_out"), ("退 订", "opt_out"), ("TD", "opt_out"), ("td", "opt_out"), ("T", "opt_out"),
    ("STOP", "opt_out"), ("Stop.", "opt_out"), ("ＳＴＯＰ", "opt_out"), ("unsubscribe", "opt_out"),
    ("取消订阅", "opt_out"), ("退订 #27", "opt_out"),
    ("START", "opt_in"), ("订阅", "opt_in"), ("重新订阅", "opt_in"), ("unstop", "opt_in"),
    ("HELP", "help"), ("help!", "help"), ("帮助", "help"), ("?", "help"), ("？", "help"),
    # free text, kept whole
    ("", "text"), ("   ", "text"), ("请问会议在几楼？", "text"), ("12", "text"), ("21", "text"),
    ("我想反映一下村里修路的问题", "text"), ("I cannot attend", "text"), ("不想退订，但是短信太多了", "text"),
    ("参加时间能改到下午吗，我上午有事不能来", "text"), ("😀", "text"), ("#27", "text"),
    ("stop sending me the meeting times please", "text"),
]


@pytest.mark.parametrize(("text", "kind"), TABLE)
def test_classification_table(text, kind):
    assert classify(text) == kind


def test_normalise_folds_width_case_spaces_and_punctuation():
    assert normalise("  Ｙｅｓ，　我会来！！ ") == "yes 我会来"
    assert normalise("１２３") == "123"
    assert normalise(None) == ""


def test_codes_are_found_in_any_width():
    assert find_code("1 #27") == "27" and find_code("１＃２７") == "27" and find_code("# 105 好") == "105"
    assert find_code("收到") is None


@pytest.mark.parametrize(("text", "reason"), [
    ("2 出差在外", "出差在外"), ("2，在外地开会。", "在外地开会"), ("请假：住院", "住院"), ("2", ""),
    ("2 #27 出差", "出差"), ("不能参加，出差", "出差"),
])
def test_leave_reason(app, text, reason):
    from notifier.replies.classify import leave_reason

    with app.app_context():
        assert leave_reason(text) == reason


def test_word_lists_come_from_config(app):
    with app.app_context():
        app.config["REPLY_WORDS"] = {"confirm": ["到"]}
        try:
            assert classify("到") == "confirm"
            assert classify("确认") == "text"  # the configured list replaced the default one
        finally:
            app.config["REPLY_WORDS"] = None
        assert classify("确认") == "confirm"


def test_every_default_word_classifies_as_its_kind():
    both = set(DEFAULT_WORDS["opt_out"]) & set(DEFAULT_WORDS["decline"])
    assert both == {"取消", "退出"}
    for kind, words in DEFAULT_WORDS.items():
        for word in words:
            # Words that are opt-out keywords and decline words too are read by context.
            expected = "opt_out" if word in both else kind
            assert classify(word) == expected, word
            assert classify(word, expects="confirm") == ("decline" if word in both else kind), word


# What the notice a reply answers asks for: None (no notice), "confirm" (1 or 2), "text".
CONTEXT_TABLE = [
    ("取消", None, Reading("opt_out", "keyword", "取消")),
    ("取消", "confirm", Reading("decline", "declined_in_context", "取消")),
    ("取 消！", "confirm", Reading("decline", "declined_in_context", "取消")),
    ("取消 #27", "confirm", Reading("decline", "declined_in_context", "取消")),
    ("取消", "text", Reading("text", "answer_in_context", "取消")),
    ("退出", "confirm", Reading("decline", "declined_in_context", "退出")),
    ("取消参加", "confirm", Reading("decline", "starts_with", "取消")),
    ("取消吧", None, Reading("text", "free_text")),  # no notice: a prefix is not enough to unsubscribe
    # Unambiguous keywords stay what they are, whatever the notice asked.
    ("退订", "confirm", Reading("opt_out", "keyword", "退订")),
    ("取消订阅", "confirm", Reading("opt_out", "keyword", "取消订阅")),
    ("STOP", "confirm", Reading("opt_out", "keyword", "stop")),
    ("cancel", "confirm", Reading("opt_out", "keyword", "cancel")),  # Twilio stops texting it anyway
    ("1", "confirm", Reading("confirm", "word", "1")),
    ("2 出差在外", "confirm", Reading("decline", "digit", "2")),
    ("收到", "confirm", Reading("ack", "acknowledged", "收到")),
    ("建议 改到下午", "confirm", Reading("suggestion", "suggestion", "建议")),
    ("确认参加，谢谢", "confirm", Reading("confirm", "starts_with", "确认参加")),
    ("参加时间能改吗，我不能来", "confirm", Reading("text", "negated", "不")),
    ("请问会议在几楼？", "confirm", Reading("text", "free_text")),
    ("", "confirm", Reading("text", "empty")),
    ("？", None, Reading("help", "question")),
]


@pytest.mark.parametrize(("text", "expects", "reading"), CONTEXT_TABLE)
def test_a_reply_is_read_by_what_it_answers_and_says_why(text, expects, reading):
    assert read_reply(text, expects=expects) == reading


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=300))
def test_classification_never_raises(text):
    assert classify(text) in KINDS


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([w for ws in DEFAULT_WORDS.values() for w in ws]), st.text(" 　,，.。!！", max_size=4))
def test_padding_with_spaces_and_punctuation_changes_nothing(word, pad):
    assert classify(pad + word + pad) == classify(word)
